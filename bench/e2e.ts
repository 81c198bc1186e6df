/**
 * End to end with real browsers: headless Chromium pages send the face video (a timestamp drawn into the
 * pixels at capture), the server analyses it with the shipped model, a socket.io subscriber receives the
 * affect events. Latency per event = arrival at the subscriber - capture time read from the pixels of
 * the frame the event was computed from; sender and server share this host's clock.
 *   npm run bench:e2e [-- --streams 1,4] [--seconds 10] [--json file]
 * Each page joins a room of its own, so browsers encode but do not also decode each other's video.
 */
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { AffectSubscriber } from '../client/src/AffectSubscriber.ts';
import { joinCall, launchBrowser } from '../test/helpers/browser.ts';
import { faceVideoY4m } from '../test/helpers/faceVideo.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { analysisWindow, type AnalysisWindow } from './lib/analysisMetrics.ts';
import { cpuMeter, descendants } from './lib/cpu.ts';
import { describeMachine, writeResults } from './lib/report.ts';
import { fmt, median, quantile } from './lib/stats.ts';
import { readTimestampBar, timestampBarInitScript } from './lib/timestampBar.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '1,4' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '4' },
    json: { type: 'string' },
  },
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Frames whose capture time is remembered per stream: a few seconds' worth, far more than the pipeline holds. */
const REMEMBERED_FRAMES = 128;

interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}
const percentiles = (xs: number[]): Percentiles => ({ p50: median(xs), p95: quantile(xs, 0.95), p99: quantile(xs, 0.99) });

interface Run {
  streams: number;
  eventsPerStreamPerSecond: number;
  /** Events whose frame's pixel timestamp was read: the latency sample. */
  timedEvents: number;
  captureToEventMs: Percentiles;
  parts: { captureToArrivalMs: Percentiles; arrivalToEmitMs: Percentiles; emitToSubscriberMs: Percentiles };
  analysis: AnalysisWindow;
  cpu: { browsers: number; server: number };
}

async function measure(streamCount: number, camera: string): Promise<Run> {
  const app = await startTestServer({ MAX_PEERS_PER_ROOM: '64', LOG_LEVEL: 'error' });
  const browser = await launchBrowser(camera);
  try {
    await browser.addInitScript(timestampBarInitScript);
    const rooms = Array.from({ length: streamCount }, (_, i) => `e2e-${i}`);
    const pages: Page[] = [];
    for (const room of rooms) {
      const page = await browser.newPage();
      await joinCall(page, app.url, room, room);
      pages.push(page);
    }

    const sentAt = new Map<string, number>();
    const frames = app.taps!.frames$.subscribe((frame) => {
      const sent = readTimestampBar(frame.pixels, frame.width, frame.height, frame.decodedTime);
      if (sent === undefined) return;
      sentAt.set(`${frame.streamId}/${frame.arrivalTime}`, sent);
      if (sentAt.size > REMEMBERED_FRAMES * streamCount) sentAt.delete(sentAt.keys().next().value!);
    });
    const subscribers = await Promise.all(
      rooms.map(async (roomId) => AffectSubscriber.connect({ url: app.url, token: await app.subscriberToken({ room: roomId }), subscriptions: [{ roomId }], validate: false })),
    );
    await sleep(Number(values.warmup) * 1000);

    const window = await analysisWindow(app);
    const cpu = cpuMeter({
      browsers: () => descendants(process.pid).filter((pid) => !serverPids(app).includes(pid)),
      server: () => [process.pid, ...serverPids(app)],
    });
    const started = Date.now();
    let events = 0;
    const total: number[] = [];
    const toArrival: number[] = [];
    const toEmit: number[] = [];
    const toSubscriber: number[] = [];
    const stops = subscribers.map((subscriber) =>
      subscriber.onEvent((event) => {
        if (event.type !== 'affect') return;
        const receivedAt = Date.now();
        events += 1;
        const sent = sentAt.get(`${event.producerId}/${event.arrivalTime}`);
        if (sent === undefined) return;
        total.push(receivedAt - sent);
        toArrival.push(event.arrivalTime - sent);
        toEmit.push(event.emitTime - event.arrivalTime);
        toSubscriber.push(receivedAt - event.emitTime);
      }),
    );
    await sleep(Number(values.seconds) * 1000);
    for (const stop of stops) stop();
    const usage = cpu();
    const seconds = (Date.now() - started) / 1000;
    const analysis = await window();
    frames.unsubscribe();
    for (const subscriber of subscribers) subscriber.close();
    return {
      streams: streamCount,
      eventsPerStreamPerSecond: events / seconds / streamCount,
      timedEvents: total.length,
      captureToEventMs: percentiles(total),
      parts: { captureToArrivalMs: percentiles(toArrival), arrivalToEmitMs: percentiles(toEmit), emitToSubscriberMs: percentiles(toSubscriber) },
      analysis,
      cpu: { browsers: usage.browsers!, server: usage.server! },
    };
  } finally {
    await browser.close();
    await app.close();
  }
}

/** The server's own child processes: mediasoup workers and ffmpeg decoders. */
function serverPids(app: Awaited<ReturnType<typeof startTestServer>>): number[] {
  return [...app.pool.workers.map((w) => w.pid), ...[...app.taps!.values()].map((tap) => tap.decoderPid ?? 0)];
}

console.log(describeMachine());
const camera = await faceVideoY4m();
console.log('streams | events/s/stream | capture->event p50 p95 p99 ms | capture->arrival p50 | arrival->emit p50 p95 | emit->subscriber p50 | dropped | batch | CPU %: server browsers');
const runs: Run[] = [];
for (const count of values.streams.split(',').map(Number)) {
  const run = await measure(count, camera);
  runs.push(run);
  const { parts } = run;
  console.log(
    [
      String(count).padStart(7),
      fmt(run.eventsPerStreamPerSecond).padStart(15),
      `${fmt(run.captureToEventMs.p50, 0)} ${fmt(run.captureToEventMs.p95, 0)} ${fmt(run.captureToEventMs.p99, 0)}`.padStart(29),
      fmt(parts.captureToArrivalMs.p50, 0).padStart(20),
      `${fmt(parts.arrivalToEmitMs.p50, 0)} ${fmt(parts.arrivalToEmitMs.p95, 0)}`.padStart(21),
      fmt(parts.emitToSubscriberMs.p50, 0).padStart(20),
      `${fmt(run.analysis.droppedPercent)}%`.padStart(7),
      fmt(run.analysis.meanBatch, 2).padStart(5),
      `${fmt(run.cpu.server, 0)} ${fmt(run.cpu.browsers, 0)}`,
    ].join(' | '),
  );
}
writeResults(values.json, 'e2e', { seconds: Number(values.seconds), runs });
