import { OUTCOMES } from './AnalyseError.ts';
import type { AnalyseProgress, AnalyseSummary } from './analyseVideo.ts';

const clock = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, '0'));
  return (hms[0] === '00' ? hms.slice(1) : hms).join(':');
};

/** One line for a terminal: how far, how fast (frames/s and times realtime), how long still. */
export function progressLine(name: string, p: AnalyseProgress, fps: number | 'all'): string {
  const done = p.doneMs;
  const framesPerS = p.elapsedMs > 0 ? (p.frames * 1000) / p.elapsedMs : 0;
  const speed = p.elapsedMs > 0 ? done / p.elapsedMs : 0;
  const rate = `${framesPerS.toFixed(0)} frames/s (${speed.toFixed(1)}x realtime${fps === 'all' ? '' : ` at ${fps} fps`})`;
  if (p.totalMs === undefined || speed === 0) return `${name}  ${p.frames} frames  ${clock(done)}  ${rate}`;
  const fraction = Math.min(1, done / p.totalMs);
  const width = 20;
  const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
  const eta = (p.totalMs - done) / speed;
  return `${name}  [${bar}] ${(fraction * 100).toFixed(0)}%  ${clock(done)}/${clock(p.totalMs)}  ${rate}  ETA ${clock(eta)}`;
}

/** The line each input ends with: outcome, counts, speed, the files written. */
export function summaryLine(s: AnalyseSummary, written: readonly string[]): string {
  const head = `${s.input}: ${s.outcome} (exit code ${OUTCOMES[s.outcome].exitCode})`;
  if (s.frames === 0) return `${head}: ${s.message}`;
  const sourceMs = (s.lastSourceMs ?? 0) - (s.firstSourceMs ?? 0);
  const perS = (s.frames * 1000) / Math.max(1, s.elapsedMs);
  const parts = [
    `${s.frames} frames (${s.size!.width}x${s.size!.height}, ${(sourceMs / 1000).toFixed(1)} s of source) in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `${perS.toFixed(1)} frames/s, ${(sourceMs / Math.max(1, s.elapsedMs)).toFixed(1)}x realtime`,
    `faces in ${s.framesWithFaces} frames, ${s.events} events`,
    ...(s.message ? [s.message] : []),
    written.length ? `-> ${written.join(', ')}` : 'nothing written',
  ];
  return `${head}: ${parts.join('; ')}`;
}
