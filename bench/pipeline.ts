/**
 * The analysis pipeline under load: N concurrent 640x480 face-video streams (replayed RTP, no encoding
 * cost), capture -> affect event latency, events per second, dropped frames, batch sizes, CPU by part.
 *   npm run bench:pipeline [-- --streams 1,4 --seconds 10]
 * "capture" is the RTP arrival of the frame at the server (replay runs on this host, so it is send time).
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { AffectSubscriber } from '../client/src/AffectSubscriber.ts';
import type { AffectEvent } from '../protocol/affect-event.ts';
import { loadConfig } from '../server/src/config.ts';
import { metricValue, startTestServer } from '../test/helpers/server.ts';
import { cpuMeter } from './lib/cpu.ts';
import { faceVideoVp8, replayIntoRoom, type ReplayedStream } from './lib/rtpReplay.ts';
import { fmt, median, quantile } from './lib/stats.ts';

const { values } = parseArgs({
  options: { streams: { type: 'string', default: '1,4' }, seconds: { type: 'string', default: '10' }, warmup: { type: 'string', default: '4' } },
});
const seconds = Number(values.seconds);
const STAGES = ['decode', 'queue', 'analyse', 'emit'] as const;
const stageRows: string[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const file = await faceVideoVp8();

console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, node ${process.version}; model ${loadConfig().vision.affectModelPath}`);
console.log('streams | events/s/stream | capture->emit p50 p95 p99 ms | ->subscriber p50 p95 ms | dropped | mean batch | CPU % of a core: node workers decoders senders');

for (const count of values.streams.split(',').map(Number)) {
  const app = await startTestServer({ MAX_PEERS_PER_ROOM: '64', LOG_LEVEL: 'error' });
  const streams: ReplayedStream[] = [];
  for (let i = 0; i < count; i++) streams.push(await replayIntoRoom(app, 'bench', file, 1000 + i));
  const subscriber = await AffectSubscriber.connect({ url: app.url, token: app.subscriberToken('bench'), subscriptions: [{ roomId: 'bench' }], validate: false });
  await sleep(Number(values.warmup) * 1000);

  const metricsAt = async () => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const stage = (name: string, part: 'sum' | 'count') => metricValue(text, `analysis_stage_seconds_${part}`, `{stage="${name}"}`) ?? 0;
    return {
      stages: Object.fromEntries(STAGES.map((name) => [name, { sum: stage(name, 'sum'), count: stage(name, 'count') }])),
      analysed: metricValue(text, 'analysis_frames_total') ?? 0,
      dropped: metricValue(text, 'analysis_frames_dropped_total') ?? 0,
      batchSum: metricValue(text, 'analysis_batch_size_sum') ?? 0,
      batchCount: metricValue(text, 'analysis_batch_size_count') ?? 0,
    };
  };
  const before = await metricsAt();
  const cpu = cpuMeter({
    node: () => [process.pid],
    workers: () => app.pool.workers.map((w) => w.pid),
    decoders: () => streams.map((s) => app.taps!.get(s.producerId)?.decoderPid ?? 0),
    senders: () => streams.map((s) => s.sender.pid ?? 0),
  });
  const events: { event: AffectEvent; receivedAt: number }[] = [];
  const stop = subscriber.onEvent((event) => event.type === 'affect' && events.push({ event, receivedAt: Date.now() }));
  await sleep(seconds * 1000);
  stop();
  const usage = cpu();
  const after = await metricsAt();

  const emit = events.map(({ event }) => event.emitTime - event.captureTime);
  const received = events.map(({ event, receivedAt }) => receivedAt - event.captureTime);
  const analysed = after.analysed - before.analysed;
  const dropped = after.dropped - before.dropped;
  console.log(
    [
      String(count).padStart(7),
      fmt(events.length / seconds / count).padStart(15),
      `${fmt(median(emit), 0)} ${fmt(quantile(emit, 0.95), 0)} ${fmt(quantile(emit, 0.99), 0)}`.padStart(28),
      `${fmt(median(received), 0)} ${fmt(quantile(received, 0.95), 0)}`.padStart(23),
      `${fmt((100 * dropped) / Math.max(1, analysed + dropped))}%`.padStart(7),
      fmt((after.batchSum - before.batchSum) / Math.max(1, after.batchCount - before.batchCount), 2).padStart(10),
      `${fmt(usage.node!, 0)} ${fmt(usage.workers!, 0)} ${fmt(usage.decoders!, 0)} ${fmt(usage.senders!, 0)}`.padStart(20),
    ].join(' | '),
  );
  stageRows.push(
    `${String(count).padStart(7)} | ` +
      STAGES.map((name) => {
        const d = { sum: after.stages[name]!.sum - before.stages[name]!.sum, count: after.stages[name]!.count - before.stages[name]!.count };
        return fmt((1000 * d.sum) / Math.max(1, d.count)).padStart(7);
      }).join(' | '),
  );
  subscriber.close();
  for (const stream of streams) stream.stop();
  await app.close();
}

console.log('\nmean ms per stage: decode = RTP arrival -> decoded, queue = decoded -> detection starts, analyse = detect + batched inference, emit = capture -> event');
console.log(`streams | ${STAGES.map((s) => s.padStart(7)).join(' | ')}`);
for (const row of stageRows) console.log(row);
