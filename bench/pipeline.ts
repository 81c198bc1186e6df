/**
 * The analysis pipeline under load: N concurrent 640x480 face-video streams replayed as RTP (no encoding
 * cost), with the shipped model: RTP arrival -> affect event latency, drops, batch sizes, CPU by component.
 *   npm run bench:pipeline [-- --streams 1,4,8] [--capacity] [--modes off,roi] [--layers simulcast,single]
 *     [--fps 10] [--seconds 10] [--variant label:VAR=value,VAR=value]... [--json file]
 * --layers: what each sender sends. simulcast (the call page): a 320x240 layer at 12.5 fps and the 640x480 one
 * at 25 fps, of which the tap decodes the small one; single: the 640x480 layer alone, decoded whole.
 * Each stream count runs once per VISION_TRACKING mode and layer set, one after the other (side by side in time,
 * so a loaded machine loads all alike). --capacity raises the stream count until analysis drops more than 5% of
 * frames or p95 latency passes 250 ms, per setup, and reports the largest count that held.
 * --variant: server settings to compare side by side, each run beside the others at every stream count, e.g.
 * `--variant before:VISION_PRECISION=fp32,ANALYSIS_CONCURRENCY=256 --variant now:` (256: every stream starts its
 * frame at once, no turns); fairness shows in each stream's events/s (streamEventsPerSecond).
 * CPU per stream is split by stage: detection (its own time in the vision workers: whole-frame searches, region
 * searches, regions then whole frame), the model (alignment + its own run), the rest of Node, mediasoup, decoders.
 * The replay runs on this host, so a frame's arrival at the server is its send time; events are timed
 * when they reach a socket.io subscriber. The senders' CPU (one replaying process for every simulcast stream,
 * rtpReplayer.ts; an ffmpeg per stream with --layers single) is measured and left out of the server's.
 */
import { parseArgs } from 'node:util';
import { AffectSubscriber } from '../client/src/AffectSubscriber.ts';
import { loadConfig } from '../server/src/config.ts';
import type { App } from '../server/src/app.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { analysisWindow, STAGES, WORK, type AnalysisWindow } from './lib/analysisMetrics.ts';
import { cpuMeter } from './lib/cpu.ts';
import { describeMachine, fromRepo, writeResults } from './lib/report.ts';
import {
  faceVideoVp8,
  faceVideoVp8HalfLayer,
  replayIntoRoom,
  replaySimulcastIntoRoom,
  startRtpReplayer,
  type ReplayedStream,
} from './lib/rtpReplay.ts';
import { fmt, median, quantile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '1,4' },
    capacity: { type: 'boolean', default: false },
    fps: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    modes: { type: 'string', default: 'off,roi' },
    layers: { type: 'string', default: 'simulcast' },
    variant: { type: 'string', multiple: true },
    warmup: { type: 'string', default: '4' },
    json: { type: 'string' },
  },
});
const CAPACITY = { maxDroppedPercent: 5, maxP95Ms: 250 };
const CAPACITY_STEPS = [1, 2, 4, 8, 12, 14, 16, 18, 20, 22, 24, 28, 32, 36, 40, 48];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const layerFiles = { single: [await faceVideoVp8()], simulcast: [await faceVideoVp8HalfLayer(), await faceVideoVp8()] };
const replayer = startRtpReplayer();

/** A tracking mode and what the senders send, e.g. `roi` or `roi/single`. */
interface Setup {
  tracking: 'off' | 'roi';
  layers: keyof typeof layerFiles;
  /** Server settings of a --variant. */
  env: Record<string, string>;
  label: string;
}

interface Run {
  mode: string;
  streams: number;
  eventsPerStreamPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number };
  /** Each stream's own p95, ascending: one lagging stream or all of them a little. */
  streamP95Ms: number[];
  /** Each stream's own affect events per second, ascending: under overload, whether all get an equal share. */
  streamEventsPerSecond: number[];
  analysis: AnalysisWindow;
  /** % of one core over the window, whole group (not per stream). */
  cpu: {
    node: number;
    detectFull: number;
    detectRegions: number;
    detectFallback: number;
    model: number;
    nodeOther: number;
    mediasoup: number;
    decoders: number;
    senders: number;
  };
  /** What /healthz said at the end of the window: its pressure, and how many decoders were behind. */
  health: { pressure: string[]; decodersBehind: number };
}

async function measure(streamCount: number, setup: Setup): Promise<Run> {
  const app = await startTestServer({
    TAP_FPS: values.fps,
    MAX_PEERS_PER_ROOM: '64',
    LOG_LEVEL: 'error',
    VISION_TRACKING: setup.tracking,
    ...setup.env,
  });
  const streams: ReplayedStream[] = [];
  try {
    const files = layerFiles[setup.layers];
    for (let i = 0; i < streamCount; i++) {
      const ssrc = 1000 + 2 * i;
      streams.push(
        await (files.length > 1 ? replaySimulcastIntoRoom(app, 'bench', files, ssrc, replayer) : replayIntoRoom(app, 'bench', files[0]!, ssrc)),
      );
    }
    const subscriber = await AffectSubscriber.connect({ url: app.url, token: await app.subscriberToken({ room: 'bench' }), subscriptions: [{ roomId: 'bench' }], validate: false });
    await sleep(Number(values.warmup) * 1000);

    const window = await analysisWindow(app);
    const cpu = cpuMeter({
      node: () => [process.pid],
      mediasoup: () => app.pool.workers.map((w) => w.pid),
      decoders: () => streams.map((s) => app.taps!.get(s.producerId)?.decoderPid ?? 0),
      senders: () => [replayer.process.pid ?? 0, ...streams.flatMap((s) => s.senders.map((p) => p.pid ?? 0))],
    });
    const started = Date.now();
    const latencies: number[] = [];
    const byStream = new Map<string, number[]>();
    const stop = subscriber.onEvent((event) => {
      if (event.type !== 'affect') return;
      const latency = Date.now() - event.arrivalTime;
      latencies.push(latency);
      byStream.set(event.producerId, [...(byStream.get(event.producerId) ?? []), latency]);
    });
    await sleep(Number(values.seconds) * 1000);
    stop();
    const usage = cpu();
    const seconds = (Date.now() - started) / 1000;
    const analysis = await window();
    const { pressure, decodersBehind } = (await (await fetch(`${app.url}/healthz`)).json()) as Run['health'];
    subscriber.close();
    await diagnoseSilentStreams(app, streams.filter((s) => !byStream.has(s.producerId)));
    const share = (work: keyof AnalysisWindow['workSeconds']) => (100 * analysis.workSeconds[work]) / seconds;
    const vision = WORK.reduce((sum, work) => sum + share(work), 0);
    return {
      mode: setup.label,
      streams: streamCount,
      eventsPerStreamPerSecond: latencies.length / seconds / streamCount,
      latencyMs: { p50: median(latencies), p95: quantile(latencies, 0.95), p99: quantile(latencies, 0.99) },
      streamP95Ms: [...byStream.values()].map((l) => quantile(l, 0.95)).sort((a, b) => a - b),
      // A stream that got no event at all counts, with 0.
      streamEventsPerSecond: streams
        .map((s) => (byStream.get(s.producerId)?.length ?? 0) / seconds)
        .sort((a, b) => a - b),
      analysis,
      health: { pressure, decodersBehind },
      cpu: {
        node: usage.node!,
        detectFull: share('detect_full'),
        detectRegions: share('detect_regions'),
        detectFallback: share('detect_regions+full'),
        model: share('model'),
        nodeOther: Math.max(0, usage.node! - vision),
        mediasoup: usage.mediasoup!,
        decoders: usage.decoders!,
        senders: usage.senders!,
      },
    };
  } finally {
    for (const stream of streams) stream.stop();
    await app.close();
  }
}

const holds = (run: Run) =>
  run.eventsPerStreamPerSecond > 0 && run.analysis.droppedPercent <= CAPACITY.maxDroppedPercent && run.latencyMs.p95 <= CAPACITY.maxP95Ms;

console.log(describeMachine());
console.log(`model ${fromRepo(loadConfig().vision.affectModelPath)}, analysis at ${values.fps} fps (TAP_FPS), ${values.seconds} s per run, senders: ${values.layers}`);
console.log(
  'mode | streams | events/s/stream | arrival->event p50 p95 p99 ms | dropped | mean batch | ' +
    'CPU % of a core, per stream: detect (full + regions + regions-then-full) model node-other mediasoup decode = server | senders',
);
const layerSets = values.layers.split(',') as Setup['layers'][];
/** `label:VAR=value,VAR=value` -> its label and settings. */
const variants = (values.variant ?? [':']).map((v) => {
  const [label = '', settings = ''] = v.split(/:(.*)/s);
  const env = Object.fromEntries(settings.split(',').filter(Boolean).map((kv) => kv.split(/=(.*)/s).slice(0, 2) as [string, string]));
  return { label, env };
});
const setups: Setup[] = (values.modes.split(',') as Setup['tracking'][]).flatMap((tracking) =>
  layerSets.flatMap((layers) =>
    variants.map(({ label, env }) => ({
      tracking,
      layers,
      env,
      label: [tracking, layerSets.length > 1 && layers, label].filter(Boolean).join('/'),
    })),
  ),
);
const modes = setups.map((s) => s.label);
const runs: Run[] = [];
const counts = values.capacity ? CAPACITY_STEPS : values.streams.split(',').map(Number);
const failed = new Set<string>();
for (const count of counts) {
  for (const setup of setups) {
    const mode = setup.label;
    if (failed.has(mode)) continue;
    const run = await measure(count, setup);
    runs.push(run);
    const per = (x: number) => fmt(x / count, 1);
    const { cpu } = run;
    const detect = cpu.detectFull + cpu.detectRegions + cpu.detectFallback;
    console.log(
      [
        mode.padStart(4),
        String(count).padStart(7),
        fmt(run.eventsPerStreamPerSecond).padStart(15),
        `${fmt(run.latencyMs.p50, 0)} ${fmt(run.latencyMs.p95, 0)} ${fmt(run.latencyMs.p99, 0)}`.padStart(29),
        `${fmt(run.analysis.droppedPercent)}%`.padStart(7),
        fmt(run.analysis.meanBatch, 2).padStart(10),
        `${per(detect)} (${per(cpu.detectFull)} + ${per(cpu.detectRegions)} + ${per(cpu.detectFallback)}) ${per(cpu.model)} ${per(cpu.nodeOther)} ${per(cpu.mediasoup)} ${per(cpu.decoders)} = ${per(cpu.node + cpu.mediasoup + cpu.decoders)} | ${per(cpu.senders)}`,
      ].join(' | '),
    );
    if (values.capacity && !holds(run)) failed.add(mode);
  }
  if (modes.every((m) => failed.has(m))) break;
}

console.log('\nmean ms per frame and stage: decode = RTP arrival -> decoded (every decoded frame), queue = decoded -> detection starts, detect, infer = batch wait + model, emit = RTP arrival -> event emitted');
console.log(`mode | streams | ${STAGES.map((s) => s.padStart(7)).join(' | ')}`);
for (const run of runs) console.log(`${run.mode.padStart(4)} | ${String(run.streams).padStart(7)} | ${STAGES.map((s) => fmt(run.analysis.stageMs[s]).padStart(7)).join(' | ')}`);

console.log('\neach stream\'s own arrival->event p95 (ms), ascending');
for (const run of runs) console.log(`${run.mode.padStart(4)} | ${String(run.streams).padStart(7)} | ${run.streamP95Ms.map((p) => fmt(p)).join(' ')}`);

console.log('\neach stream\'s own events/s, ascending | least / mean');
for (const run of runs) {
  const rates = run.streamEventsPerSecond;
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  console.log(`${run.mode.padStart(4)} | ${String(run.streams).padStart(7)} | ${rates.map((r) => fmt(r, 1)).join(' ')} | ${fmt(rates[0]! / mean, 2)}`);
}

console.log('\n/healthz at the end of each window: pressure | decoders behind');
for (const run of runs) console.log(`${run.mode.padStart(4)} | ${String(run.streams).padStart(7)} | ${run.health.pressure.join(', ') || 'none'} | ${run.health.decodersBehind}`);

const capacity: Record<string, number> = {};
if (values.capacity) {
  for (const mode of modes) capacity[mode] = runs.filter((r) => r.mode === mode && holds(r)).at(-1)?.streams ?? 0;
  console.log(
    `\ncapacity at ${values.fps} fps (<= ${CAPACITY.maxDroppedPercent}% dropped, p95 <= ${CAPACITY.maxP95Ms} ms): ` +
      modes.map((m) => `${m} ${capacity[m]} streams`).join(', ') +
      (capacity.off && capacity.roi ? ` (roi / off ${fmt(capacity.roi / capacity.off, 2)}x)` : ''),
  );
}
replayer.close();
writeResults(values.json, 'pipeline', { fps: Number(values.fps), seconds: Number(values.seconds), capacityRule: CAPACITY, capacity, runs });

/**
 * Says, for each stream that got no event in the window, which side stalled: the media (no packets), the decoder
 * (packets but no frames) or the analysis (frames but no events), watched for 2 s after the window, all at once.
 */
async function diagnoseSilentStreams(app: App, silent: { producerId: string }[]): Promise<void> {
  const watched = silent.map(({ producerId }) => {
    const tap = app.taps!.get(producerId);
    if (!tap) return { producerId, line: () => 'tap gone' };
    let frames = 0;
    const counting = tap.frames$.subscribe(() => frames++);
    const packets = tap.packetsReceived;
    return {
      producerId,
      line: () => {
        counting.unsubscribe();
        return `decoder ${tap.decoderState}, layer ${tap.analysedLayer}; the next 2 s: ${tap.packetsReceived - packets} RTP packets in, ${frames} frames out of the tap`;
      },
    };
  });
  if (watched.length > 0) await sleep(2000);
  for (const { producerId, line } of watched) console.log(`  no events from stream ${producerId}: ${line()}`);
}
