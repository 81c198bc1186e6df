/**
 * Soak: calls run for a long time with churn, and the server's resources are watched for growth.
 *   npm run soak [-- --minutes 30] [--calls 2] [--subscribers 2] [--churn-seconds 5] [--sample-seconds 10]
 * Each call is a room whose camera is the face video replayed as RTP (bench/lib/rtpReplay.ts), followed by
 * affect subscribers. Every churn period a socket.io participant joins a call (with a receive transport)
 * and the previous one leaves; every other period one call's camera is replaced by a new one (the old
 * peer leaves, a new peer and decoder come). Printed at the start and the end: the server's RSS (this
 * process, which runs it, and its mediasoup workers) with its slope (least squares, MB/min), the ffmpeg
 * decoders, open UDP/TCP sockets and fds; then what is left once everything has stopped.
 */
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { AffectSubscriber } from '../client/src/AffectSubscriber.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { childProcesses, processStats, type ProcessStats } from './lib/processStats.ts';
import { faceVideoVp8, replayIntoRoom, type ReplayedStream } from './lib/rtpReplay.ts';
import { fmt } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    calls: { type: 'string', default: '2' },
    subscribers: { type: 'string', default: '2' },
    'churn-seconds': { type: 'string', default: '5' },
    'sample-seconds': { type: 'string', default: '10' },
  },
});
const minutes = Number(values.minutes);
const callCount = Number(values.calls);
const churnMs = Number(values['churn-seconds']) * 1000;
const sampleMs = Number(values['sample-seconds']) * 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  minute: number;
  nodeRssMb: number;
  workersRssMb: number;
  decoders: number;
  node: ProcessStats;
  workers: ProcessStats;
  events: number;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : Number.NaN;
}

const file = await faceVideoVp8();
const app = await startTestServer({ LOG_LEVEL: 'error' });
const rooms = Array.from({ length: callCount }, (_, i) => `soak-${i}`);
let ssrc = 5000;
const cameras = new Map<string, ReplayedStream>();
for (const room of rooms) cameras.set(room, await replayIntoRoom(app, room, file, ssrc++));
let events = 0;
const subscribers: AffectSubscriber[] = [];
for (const room of rooms) {
  for (let i = 0; i < Number(values.subscribers); i++) {
    const subscriber = await AffectSubscriber.connect({
      url: app.url,
      token: await app.subscriberToken({ room }, minutes * 60 + 600),
      subscriptions: [{ roomId: room }],
    });
    subscriber.onEvent(() => events++);
    subscribers.push(subscriber);
  }
}

/** The ffmpeg processes of this process that decode (the others send the replayed cameras). */
const decoders = () => {
  const senders = new Set([...cameras.values()].flatMap((c) => c.senders.map((s) => s.pid)));
  return childProcesses(process.pid, 'ffmpeg').filter((pid) => !senders.has(pid)).length;
};
const sum = (stats: ProcessStats[]): ProcessStats => ({
  rssMb: stats.reduce((s, x) => s + x.rssMb, 0),
  fds: stats.reduce((s, x) => s + x.fds, 0),
  udp: stats.reduce((s, x) => s + x.udp, 0),
  tcp: stats.reduce((s, x) => s + x.tcp, 0),
});
const started = Date.now();
const sample = (): Sample => {
  const node = processStats(process.pid);
  const workers = sum(app.pool.workers.map((w) => processStats(w.pid)));
  return { minute: (Date.now() - started) / 60_000, nodeRssMb: node.rssMb, workersRssMb: workers.rssMb, decoders: decoders(), node, workers, events };
};
const describe = (s: Sample) =>
  `t=${fmt(s.minute, 2)} min: RSS node ${fmt(s.nodeRssMb)} MB + workers ${fmt(s.workersRssMb)} MB; ` +
  `ffmpeg decoders ${s.decoders}; node fds ${s.node.fds}, tcp ${s.node.tcp}, udp ${s.node.udp}; ` +
  `workers fds ${s.workers.fds}, udp ${s.workers.udp}, tcp ${s.workers.tcp}; affect events so far ${s.events}`;

// Churn: a signaling participant comes and goes; every other time a camera is replaced too.
let visitor: Socket | undefined;
let churns = 0;
const churn = async () => {
  const room = rooms[churns % rooms.length]!;
  visitor?.close();
  visitor = io(app.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await visitor.timeout(5000).emitWithAck('join', { roomId: room, displayName: `visitor-${churns}` });
  await visitor.timeout(5000).emitWithAck('createTransport', { direction: 'recv' });
  if (churns % 2 === 1) {
    cameras.get(room)!.stop();
    cameras.set(room, await replayIntoRoom(app, room, file, ssrc++));
  }
  churns++;
};

console.log(`soak: ${callCount} calls, ${subscribers.length} affect subscribers, churn every ${churnMs / 1000} s, for ${minutes} min`);
// The first sample once every decoder runs: the start of the steady state, not of the set-up.
while (decoders() < callCount && Date.now() - started < 30_000) await sleep(200);
const samples: Sample[] = [sample()];
console.log(`start  ${describe(samples[0]!)}`);
const end = started + minutes * 60_000;
let nextChurn = Date.now() + churnMs;
let nextSample = Date.now() + sampleMs;
while (Date.now() < end) {
  await sleep(Math.max(0, Math.min(nextChurn, nextSample, end) - Date.now()));
  if (Date.now() >= nextChurn) {
    await churn().catch((error: unknown) => console.log(`churn failed: ${(error as Error).message}`));
    nextChurn += churnMs;
  }
  if (Date.now() >= nextSample) {
    samples.push(sample());
    nextSample += sampleMs;
  }
}
const last = sample();
samples.push(last);
console.log(`end    ${describe(last)}`);
const minutesOf = samples.map((s) => s.minute);
const half = samples.filter((s) => s.minute >= last.minute / 2);
console.log(
  `RSS slope over ${samples.length} samples: node ${fmt(slope(minutesOf, samples.map((s) => s.nodeRssMb)), 2)} MB/min, ` +
    `workers ${fmt(slope(minutesOf, samples.map((s) => s.workersRssMb)), 2)} MB/min; ` +
    `second half only: node ${fmt(slope(half.map((s) => s.minute), half.map((s) => s.nodeRssMb)), 2)} MB/min`,
);
console.log(`churn: ${churns} visitor joins, ${Math.floor(churns / 2)} cameras replaced; affect events ${last.events} (${fmt(last.events / (last.minute * 60))}/s)`);

// Everything stopped: what the server still holds should be what it held before the first call.
visitor?.close();
for (const subscriber of subscribers) subscriber.close();
for (const camera of cameras.values()) camera.stop();
const drainedBy = Date.now() + 15_000;
while ((app.rooms.size > 0 || decoders() > 0) && Date.now() < drainedBy) await sleep(200);
console.log(`after stopping everything: rooms ${app.rooms.size}, ${describe(sample())}`);
await app.close();
process.exit(0);
