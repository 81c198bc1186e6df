/**
 * Analyses recorded video with the live service's detector, tracker, model and smoothing (see README, "Analyse
 * recorded video"):
 *   npm run analyse -- INPUT [INPUT...] --out DIR|FILE [--jsonl] [--csv] [--vtt] [--fps N|all] [--raw]
 *                      [--start T] [--duration T] [--faces N] [--max-size PX] [--workers N] [--overlay FILE] [--quiet]
 * Exit codes: 0 complete, 1 analysis fault, 2 usage, 3 no faces, 4 input cut off or damaged (partial output),
 * 5 no video stream, 6 unreadable input, 130 interrupted (partial output); several inputs: the worst.
 */
import { mkdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { OUTCOMES, USAGE_EXIT_CODE, worstOutcome, type Outcome } from '../offline/AnalyseError.ts';
import { analyseVideo, fanOut, type AnalyseSummary } from '../offline/analyseVideo.ts';
import { OUTPUT_FORMATS, outputFiles, type OutputFormat } from '../offline/outputFiles.ts';
import { overlaySubtitles, renderOverlay } from '../offline/overlayVideo.ts';
import { progressLine, summaryLine } from '../offline/progressLine.ts';
import { heapForThroughput } from '../offline/heapForThroughput.ts';
import { startVision } from '../offline/startVision.ts';

class UsageError extends Error {}

const USAGE = `usage: npm run analyse -- INPUT [INPUT...] --out DIR|FILE [options]
  INPUT            a video file or any URL ffmpeg reads
  --out DIR|FILE   a folder (created if missing; one <name>.<format> per input per format), or for one input a
                   file whose extension (.jsonl, .csv, .vtt) picks the format
  --jsonl --csv --vtt   outputs (default: all three with a folder, the file's own format with a file)
  --fps N|all      frames per second analysed (default all: every frame at its own time)
  --raw            no temporal smoothing: each frame judged alone
  --start T --duration T   the part to analyse: seconds (12.5) or [hh:]mm:ss[.ms]
  --faces N        only the N largest faces of each frame
  --max-size PX    the longer side is scaled down to this first (default 1920; never up)
  --workers N      vision worker threads (default: one per core)
  --overlay FILE   also the video (the part analysed) with the faces drawn, its audio kept (one INPUT)
  --quiet          no progress line
exit codes: 0 complete, 1 analysis fault, 2 usage, 3 no faces, 4 input cut off or damaged (partial output),
  5 no video stream, 6 unreadable input, 130 interrupted (partial output); several inputs: the worst`;

function parseTime(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(':');
  const valid = parts.length <= 3 && parts.every((p) => /^\d+(\.\d+)?$/.test(p));
  if (!valid) throw new UsageError(`--${flag} ${text}: give seconds (12.5) or [hh:]mm:ss[.ms]`);
  return parts.reduce((total, p) => total * 60 + Number(p), 0) * 1000;
}

function parsePositive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} ${text}: give a whole number >= 1`);
  return n;
}

function parseCommandLine(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      jsonl: { type: 'boolean' },
      csv: { type: 'boolean' },
      vtt: { type: 'boolean' },
      fps: { type: 'string', default: 'all' },
      raw: { type: 'boolean', default: false },
      start: { type: 'string' },
      duration: { type: 'string' },
      faces: { type: 'string' },
      'max-size': { type: 'string', default: '1920' },
      workers: { type: 'string' },
      overlay: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  if (values.overlay !== undefined && positionals.length > 1) throw new UsageError('--overlay FILE takes one INPUT');
  if (positionals.length === 0) throw new UsageError('no INPUT given');
  if (!values.out) throw new UsageError('--out DIR|FILE is required');
  const fps = values.fps === 'all' ? 'all' : Number(values.fps);
  if (fps !== 'all' && !(fps > 0 && fps <= 1000)) throw new UsageError(`--fps ${values.fps}: give frames per second (0 < N <= 1000) or "all"`);
  const duration = parseTime('duration', values.duration);
  if (duration === 0) throw new UsageError('--duration must be more than 0');

  const asked = OUTPUT_FORMATS.filter((f) => values[f]);
  const ext = path.extname(values.out).slice(1) as OutputFormat;
  const toFile = OUTPUT_FORMATS.includes(ext);
  if (toFile && positionals.length > 1) throw new UsageError(`--out ${values.out} is a file, but ${positionals.length} inputs were given: give a folder`);
  const formats = asked.length ? asked : toFile ? [ext] : OUTPUT_FORMATS;
  const stems = toFile ? [values.out.slice(0, -ext.length - 1)] : uniqueStems(values.out, positionals);
  return {
    inputs: positionals,
    stems,
    outDir: toFile ? path.dirname(values.out) : values.out,
    formats,
    fps,
    raw: values.raw,
    startMs: parseTime('start', values.start),
    durationMs: duration,
    maxFaces: parsePositive('faces', values.faces),
    maxSide: parsePositive('max-size', values['max-size'])!,
    workers: parsePositive('workers', values.workers) ?? os.availableParallelism(),
    overlay: values.overlay,
    quiet: values.quiet,
  } as const;
}

/** `<dir>/<input name without extension>`, numbered where two inputs share a name. */
function uniqueStems(dir: string, inputs: string[]): string[] {
  const seen = new Map<string, number>();
  return inputs.map((input) => {
    const name = path.basename(input.replace(/[?#].*$/, '')).replace(/\.[^.]+$/, '') || 'input';
    const n = seen.get(name) ?? 0;
    seen.set(name, n + 1);
    return path.join(dir, n ? `${name}-${n + 1}` : name);
  });
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseCommandLine>;
  try {
    args = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`analyse: ${(error as Error).message}\n${USAGE}\n`);
    return USAGE_EXIT_CODE;
  }
  if (!args) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    mkdirSync(args.outDir, { recursive: true });
    if (!statSync(args.outDir).isDirectory()) throw new Error('not a folder');
  } catch (error) {
    process.stderr.write(`analyse: cannot write to ${args.outDir} (${(error as Error).message})\n`);
    return USAGE_EXIT_CODE;
  }

  heapForThroughput();
  const config = loadConfig();
  const workers = await startVision(config.vision, args.workers, (level, message) => {
    if (level !== 'info') process.stderr.write(`analyse: ${message}\n`);
  });

  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) process.exit(OUTCOMES.interrupted.exitCode);
    process.stderr.write('\nanalyse: stopping (finishing the frames in flight; Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tty = process.stderr.isTTY && !args.quiet;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'analyse-'));
  const summaries: AnalyseSummary[] = [];
  try {
    for (const [i, input] of args.inputs.entries()) {
      if (abort.signal.aborted) break;
      const outputs = outputFiles(args.stems[i]!, args.formats, workers.model.info);
      const overlay = args.overlay ? overlaySubtitles(path.join(scratch, 'overlay.ass'), args.startMs ?? 0) : undefined;
      let shown = 0;
      const summary = await analyseVideo({
        input,
        fps: args.fps,
        raw: args.raw,
        startMs: args.startMs,
        durationMs: args.durationMs,
        maxFaces: args.maxFaces,
        maxSide: args.maxSide,
        inFlight: 4 * args.workers,
        detector: workers.detector,
        model: workers.model,
        analysis: config.analysis,
        sink: overlay ? fanOut(outputs.sink, overlay) : outputs.sink,
        signal: abort.signal,
        onProgress: (progress) => {
          const now = Date.now();
          if (!tty || now - shown < 250) return;
          shown = now;
          process.stderr.write(`\r${progressLine(path.basename(input), progress, args.fps)}\x1b[K`);
        },
      });
      if (tty && shown) process.stderr.write('\r\x1b[K');
      if (overlay?.written && args.overlay && summary.outcome !== 'interrupted') {
        if (tty) process.stderr.write(`drawing the overlay into ${args.overlay}...`);
        try {
          await renderOverlay({ input, assPath: path.join(scratch, 'overlay.ass'), out: args.overlay, startMs: args.startMs, durationMs: args.durationMs });
          outputs.written.push(args.overlay);
        } catch (error) {
          summary.message = [summary.message, (error as Error).message].filter(Boolean).join('; ');
          if (summary.outcome === 'complete') summary.outcome = 'failed';
        }
        if (tty) process.stderr.write('\r\x1b[K');
      }
      process.stderr.write(`${summaryLine(summary, outputs.written)}\n`);
      summaries.push(summary);
    }
  } finally {
    await workers.close();
    await rm(scratch, { recursive: true, force: true });
  }
  const outcomes: Outcome[] = summaries.map((s) => s.outcome);
  if (abort.signal.aborted) outcomes.push('interrupted');
  return OUTCOMES[worstOutcome(outcomes)].exitCode;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`analyse: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(OUTCOMES.failed.exitCode);
  },
);
