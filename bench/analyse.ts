/**
 * Speed and memory of `npm run analyse` (recorded video through the live analysis), in this process with the vision
 * workers the CLI starts (one per core) and its real output files:
 *   npm run bench:analyse [-- --seconds 10] [--minutes 30] [--long-fps 10] [--json file]
 * - the face video (H.264 MP4, 640x480, 25 fps, `--seconds` long) at `--fps all` and `--fps 10`, side by side:
 *   frames/s, times realtime, and per stage: ffmpeg's decode, the detector's own time, alignment plus the model
 *   (ms per frame; the stages overlap on the cores, so they do not add up to the wall time), Node's CPU;
 * - memory over a long input: the face video looped to `--minutes` (0: skip) at `--long-fps`: resident memory
 *   of this process (workers included) and of ffmpeg, sampled each second: after the first 10%, peak, at the end.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import { loadConfig } from '../server/src/config.ts';
import { analyseVideo, type AnalyseSummary } from '../server/src/offline/analyseVideo.ts';
import { heapForThroughput } from '../server/src/offline/heapForThroughput.ts';
import { outputFiles } from '../server/src/offline/outputFiles.ts';
import { startVision } from '../server/src/offline/startVision.ts';
import { CACHE_DIR, faceVideoY4m } from '../test/helpers/faceVideo.ts';
import { cpuSeconds } from './lib/cpu.ts';
import { childProcesses, rssMb } from './lib/processStats.ts';
import { describeMachine, writeResults } from './lib/report.ts';
import { fmt } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    minutes: { type: 'string', default: '30' },
    'long-fps': { type: 'string', default: '10' },
    json: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const minutes = Number(values.minutes);
const longFps = values['long-fps'] === 'all' ? 'all' : Number(values['long-fps']);
const run = promisify(execFile);

/** The face video as H.264 MP4, looped to `loops` times its length (made once, cached). */
async function faceMp4(clipSeconds: number, loops = 1): Promise<string> {
  const out = path.join(CACHE_DIR, `bench-cap12-${clipSeconds}s-x${loops}.mp4`);
  if (existsSync(out)) return out;
  const tmp = `${out}.tmp.mp4`;
  if (loops === 1) {
    const y4m = await faceVideoY4m(Math.max(10, clipSeconds));
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', y4m, '-t', String(clipSeconds), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', tmp]);
  } else {
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-stream_loop', String(loops - 1), '-i', await faceMp4(clipSeconds), '-c', 'copy', tmp]);
  }
  await rename(tmp, out);
  return out;
}

// As the CLI runs.
heapForThroughput();
const config = loadConfig();
const workerCount = os.availableParallelism();
const workers = await startVision(config.vision, workerCount);
const outDir = await mkdtemp(path.join(os.tmpdir(), 'bench-analyse-'));

interface Sampled {
  summary: AnalyseSummary;
  nodeCpuS: number;
  ffmpegCpuS: number;
  rss: { atTenthMb: number; peakMb: number; endMb: number; ffmpegPeakMb: number };
}

/** One analysis as the CLI runs it, with this process's and ffmpeg's CPU and memory sampled meanwhile. */
async function measure(input: string, fps: number | 'all', name: string): Promise<Sampled> {
  const ffmpegCpu = new Map<number, number>();
  const rss: number[] = [];
  let ffmpegPeakMb = 0;
  const sample = () => {
    for (const pid of childProcesses(process.pid, 'ffmpeg')) {
      ffmpegCpu.set(pid, cpuSeconds(pid));
      ffmpegPeakMb = Math.max(ffmpegPeakMb, rssMb(pid));
    }
    rss.push(rssMb(process.pid));
  };
  const timer = setInterval(sample, 1000);
  const cpu0 = cpuSeconds(process.pid);
  const outputs = outputFiles(path.join(outDir, name), ['jsonl', 'csv', 'vtt'], workers.model.info);
  const summary = await analyseVideo({
    input,
    fps,
    raw: false,
    maxSide: 1920,
    inFlight: 4 * workerCount,
    detector: workers.detector,
    model: workers.model,
    analysis: config.analysis,
    sink: outputs.sink,
    onProgress: () => {
      // ffmpeg's CPU is read while it lives: once it exits /proc forgets it.
      if (ffmpegCpu.size === 0) sample();
    },
  });
  clearInterval(timer);
  sample();
  const nodeCpuS = cpuSeconds(process.pid) - cpu0;
  if (summary.outcome !== 'complete') throw new Error(`${input}: ${summary.outcome}: ${summary.message}`);
  return {
    summary,
    nodeCpuS,
    ffmpegCpuS: [...ffmpegCpu.values()].reduce((a, b) => a + b, 0),
    rss: { atTenthMb: rss[Math.floor(rss.length / 10)] ?? rss[0]!, peakMb: Math.max(...rss), endMb: rss.at(-1)!, ffmpegPeakMb },
  };
}

function describe(label: string, m: Sampled) {
  const s = m.summary;
  const wallS = s.elapsedMs / 1000;
  const sourceS = ((s.lastSourceMs ?? 0) - (s.firstSourceMs ?? 0)) / 1000 + 1 / (label.includes('all') ? 25 : 10);
  const perFrame = (ms: number) => ms / s.frames;
  const row = {
    frames: s.frames,
    wallS,
    framesPerS: s.frames / wallS,
    realtime: sourceS / wallS,
    msPerFrame: {
      decode: perFrame(m.ffmpegCpuS * 1000),
      detect: perFrame(s.detectorMs),
      detectRoundTrip: perFrame(s.detectRoundTripMs),
      alignAndModel: perFrame(s.modelMs),
      nodeCpu: perFrame(m.nodeCpuS * 1000),
    },
    facesPerModelCall: s.faces / Math.max(1, s.batches),
    cpuCoresBusy: (m.nodeCpuS + m.ffmpegCpuS) / wallS,
    rss: m.rss,
  };
  console.log(
    `${label}: ${row.frames} frames in ${fmt(wallS)} s = ${fmt(row.framesPerS)} frames/s, ${fmt(row.realtime)}x realtime; ` +
      `per frame ms: decode ${fmt(row.msPerFrame.decode, 2)}, detect ${fmt(row.msPerFrame.detect, 2)} (round trip ${fmt(row.msPerFrame.detectRoundTrip, 2)}), align+model ${fmt(row.msPerFrame.alignAndModel, 2)}, ` +
      `Node CPU (main thread + workers) ${fmt(row.msPerFrame.nodeCpu, 2)}; ${fmt(row.facesPerModelCall)} faces per model call; ` +
      `${fmt(row.cpuCoresBusy, 2)} cores busy; RSS peak ${fmt(m.rss.peakMb, 0)} MB (+ ffmpeg ${fmt(m.rss.ffmpegPeakMb, 0)} MB)`,
  );
  return row;
}

console.log(describeMachine());
console.log(`vision workers: ${workerCount}; model ${workers.model.info.name} ${workers.model.info.version}; region tracking ${config.analysis.regionTracking ? 'roi' : 'off'}`);
const clip = await faceMp4(seconds);
// A short warm-up: the first runs of a session are slower (allocations, JIT).
await measure(await faceMp4(seconds), 10, 'warmup');
const results: Record<string, unknown> = {
  fpsAll: describe(`face video ${seconds} s, --fps all`, await measure(clip, 'all', 'all')),
  fps10: describe(`face video ${seconds} s, --fps 10`, await measure(clip, 10, 'fps10')),
};
if (minutes > 0) {
  const loops = Math.ceil((minutes * 60) / 10);
  const long = await faceMp4(10, loops);
  const row = describe(`face video looped to ${minutes} min, --fps ${longFps}`, await measure(long, longFps, 'long'));
  console.log(`  memory: RSS after 10% ${fmt(row.rss.atTenthMb, 0)} MB, peak ${fmt(row.rss.peakMb, 0)} MB, at the end ${fmt(row.rss.endMb, 0)} MB`);
  results.long = { minutes, fps: longFps, ...row };
}
writeResults(values.json, 'analyse', results);
await workers.close();
await rm(outDir, { recursive: true, force: true });
