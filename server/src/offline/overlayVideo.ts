import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { AffectEvent } from '../../../protocol/affect-event.ts';
import type { OfflineFrame, OfflineSink } from './analyseVideo.ts';

/** ASS time: h:mm:ss.cc */
function assTime(ms: number): string {
  const cs = Math.max(0, Math.round(ms / 10));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(cs / 360_000)}:${pad(Math.floor(cs / 6000) % 60)}:${pad(Math.floor(cs / 100) % 60)}.${pad(cs % 100)}`;
}

/** What is drawn for one face: its box outlined, and its id, expression, valence and arousal above it. */
function faceDrawing(face: AffectEvent, width: number, height: number): string[] {
  const x0 = Math.round(face.box.x * width);
  const y0 = Math.round(face.box.y * height);
  const x1 = Math.round((face.box.x + face.box.w) * width);
  const y1 = Math.round((face.box.y + face.box.h) * height);
  const p = Math.round((face.expression.probs[face.expression.label] ?? 0) * 100);
  const label = `face ${face.faceId}  ${face.expression.label} ${p}%  V ${face.valence.toFixed(2)}  A ${face.arousal.toFixed(2)}`;
  return [
    // A vector drawing (\p1) with a transparent fill and a 2 px border: the box.
    `{\\an7\\pos(0,0)\\bord2\\shad0\\1a&HFF&\\3c&H40E040&\\p1}m ${x0} ${y0} l ${x1} ${y0} ${x1} ${y1} ${x0} ${y1}{\\p0}`,
    `{\\an1\\pos(${x0},${Math.max(0, y0 - 4)})}${label}`,
  ];
}

/**
 * The analysed faces as ASS subtitles in the analysed frame's coordinates (libass scales them to the video), one
 * event per face per frame until the next frame, timed from the start of the part analysed: drawn onto the video by
 * `renderOverlay`. Written as frames come, to `assPath` (created with the first frame: `written`).
 */
export function overlaySubtitles(assPath: string, startMs: number): OfflineSink & { readonly written: boolean } {
  let fd: number | undefined;
  const open = ({ width, height }: { width: number; height: number }) => {
    fd = openSync(assPath, 'w');
    const fontSize = Math.max(12, Math.round(height / 30));
    writeSync(
      fd,
      [
        '[Script Info]', 'ScriptType: v4.00+', `PlayResX: ${width}`, `PlayResY: ${height}`, 'ScaledBorderAndShadow: yes', '',
        '[V4+ Styles]',
        'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
        `Style: Face,DejaVu Sans,${fontSize},&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,2,0,7,0,0,0,1`, '',
        '[Events]', 'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text', '',
      ].join('\n'),
    );
  };
  let pending: { start: number; lines: string[] } | undefined;
  let previous: number | undefined;
  let interval = 40;
  const flush = (end: number) => {
    if (!pending || fd === undefined) return;
    const span = `${assTime(pending.start - startMs)},${assTime(end - startMs)}`;
    writeSync(fd, pending.lines.map((text) => `Dialogue: 0,${span},Face,,0,0,0,,${text}\n`).join(''));
    pending = undefined;
  };
  return {
    get written() {
      return fd !== undefined;
    },
    frame(frame: OfflineFrame) {
      if (fd === undefined) open(frame);
      if (previous !== undefined) interval = frame.sourceTimeMs - previous;
      previous = frame.sourceTimeMs;
      flush(frame.sourceTimeMs);
      const faces = frame.events.filter((e): e is AffectEvent => e.type === 'affect');
      if (faces.length) pending = { start: frame.sourceTimeMs, lines: faces.flatMap((f) => faceDrawing(f, frame.width, frame.height)) };
    },
    async close() {
      if (pending) flush(pending.start + interval);
      if (fd !== undefined) closeSync(fd);
    },
  };
}

export interface RenderOverlayOptions {
  input: string;
  assPath: string;
  out: string;
  startMs?: number;
  durationMs?: number;
}

/** The input (the part analysed) re-encoded with the overlay drawn (H.264), its audio copied as it is. */
export async function renderOverlay(options: RenderOverlayOptions): Promise<void> {
  const { input, assPath, out, startMs, durationMs } = options;
  // The filter graph's own quoting: a path's ':' and '\' and quotes would end the option.
  const assArgument = assPath.replace(/[\\:']/g, (c) => `\\${c}`);
  const child = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-y'],
      ...(startMs ? ['-ss', (startMs / 1000).toFixed(3)] : []),
      ...(durationMs !== undefined ? ['-t', (durationMs / 1000).toFixed(3)] : []),
      ...['-i', input, '-map', '0:v:0', '-map', '0:a?', '-vf', `ass=${assArgument}`],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-c:a', 'copy', '-movflags', '+faststart', out],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-2000)));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`drawing the overlay into ${out} failed: ${stderr.trim().split('\n').at(-1) ?? `ffmpeg exited with ${code}`}`);
}
