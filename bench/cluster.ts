/**
 * Several nodes on Redis against one node, the same load, one after the other in one run:
 *   npm run bench:cluster [-- --streams 8] [--subscribers 200] [--seconds 15] [--warmup 5] [--fps 10] [--json file]
 * Multi-node: Redis and two node processes on loopback; the face video replayed as RTP into `--streams` calls
 * on node A (analysed there); `--subscribers` affect subscribers, half on A and half on B (B does no media or
 * analysis: it only serves subscribers, through socket.io's Redis adapter). Single node: the same streams and
 * subscribers, all on one node without Redis. Reported per phase: events delivered per second (all
 * subscribers together), RTP arrival -> event at a subscriber on A and on B (p50/p95; the replay runs on this
 * host, so arrival is send time), CPU of each node (its process and children: mediasoup, decoders) and of
 * redis-server; then multi-node / single-node ratios of CPU per delivered event and of latency.
 */
import { parseArgs } from 'node:util';
import { AffectSubscriber } from '../client/src/AffectSubscriber.ts';
import { signSubscriberToken, tokenKey } from '../server/src/auth/tokens.ts';
import { CLUSTER_TOKEN_SECRET, startNode, type TestNode } from '../test/helpers/cluster.ts';
import { startRedis, type TestRedis } from '../test/helpers/redisServer.ts';
import { cpuMeter, descendants } from './lib/cpu.ts';
import { describeMachine, writeResults } from './lib/report.ts';
import { fmt, quantile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '8' },
    subscribers: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
    fps: { type: 'string', default: '10' },
    json: { type: 'string' },
  },
});
const STREAMS = Number(values.streams);
const SUBSCRIBERS = Number(values.subscribers);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const roomOf = (i: number) => `bench-${i}`;

interface Phase {
  name: 'multi-node' | 'single-node';
  eventsPerSecond: number;
  latencyMs: Record<'onA' | 'onB', { p50: number; p95: number; events: number }>;
  /** % of one core over the window. */
  cpu: { nodeA: number; nodeB: number; redis: number };
  cpuPerThousandEvents: number;
}

/** Subscribers spread over `nodes` and over the rooms; each records arrival -> receipt per event. */
async function subscribe(nodes: { label: 'onA' | 'onB'; node: TestNode }[]) {
  const key = tokenKey(CLUSTER_TOKEN_SECRET);
  const latencies = { onA: [] as number[], onB: [] as number[] };
  let recording = false;
  const subscribers: AffectSubscriber[] = [];
  for (let i = 0; i < SUBSCRIBERS; i += 1) {
    const { label, node } = nodes[i % nodes.length]!;
    const roomId = roomOf(i % STREAMS);
    const token = await signSubscriberToken({ room: roomId }, key, 3600);
    subscribers.push(
      await AffectSubscriber.connect({
        url: node.url,
        token,
        subscriptions: [{ roomId }],
        validate: false,
        onEvent: (event) => {
          if (recording && event.type === 'affect') latencies[label].push(Date.now() - event.arrivalTime);
        },
      }),
    );
  }
  return {
    latencies,
    record(on: boolean) {
      recording = on;
    },
    close() {
      for (const subscriber of subscribers) subscriber.close();
    },
  };
}

async function runPhase(name: Phase['name'], redis: TestRedis | undefined): Promise<Phase> {
  const common = { TAP_FPS: values.fps!, MAX_SUBSCRIBERS: String(SUBSCRIBERS + 10), MAX_SUBSCRIBERS_PER_TOKEN: String(SUBSCRIBERS), MAX_CONNECTIONS_PER_IP: String(SUBSCRIBERS + 10), LOG_LEVEL: 'error' };
  const nodeA = await startNode({ ...common, ...(redis && { REDIS_URL: redis.url }) });
  const nodeB = redis ? await startNode({ ...common, REDIS_URL: redis.url, TAP_ENABLED: 'false', ANALYSIS_ENABLED: 'false' }) : undefined;
  try {
    for (let i = 0; i < STREAMS; i += 1) await nodeA.replay(roomOf(i), 9000 + i);
    const subscribers = await subscribe(nodeB ? [{ label: 'onA', node: nodeA }, { label: 'onB', node: nodeB }] : [{ label: 'onA', node: nodeA }]);
    await sleep(WARMUP * 1000);
    const group = (node: TestNode | undefined) => () => (node?.process.pid ? [node.process.pid, ...descendants(node.process.pid)] : []);
    const cpu = cpuMeter({ nodeA: group(nodeA), nodeB: group(nodeB), redis: () => (redis?.pid ? [redis.pid] : []) });
    subscribers.record(true);
    await sleep(SECONDS * 1000);
    subscribers.record(false);
    const used = cpu() as Phase['cpu'];
    subscribers.close();
    const { onA, onB } = subscribers.latencies;
    const events = onA.length + onB.length;
    const stats = (list: number[]) => ({ p50: quantile(list, 0.5), p95: quantile(list, 0.95), events: list.length });
    return {
      name,
      eventsPerSecond: events / SECONDS,
      latencyMs: { onA: stats(onA), onB: stats(onB) },
      cpu: used,
      cpuPerThousandEvents: ((used.nodeA + used.nodeB + used.redis) * SECONDS) / 100 / (events / 1000),
    };
  } finally {
    await Promise.all([nodeA.stop(), nodeB?.stop()]);
  }
}

console.log(`bench:cluster on ${describeMachine()}: ${STREAMS} streams on node A at ${values.fps} fps, ${SUBSCRIBERS} subscribers, ${SECONDS} s (+${WARMUP} s warm-up) per phase`);
const redis = await startRedis();
let multi: Phase;

try {
  multi = await runPhase('multi-node', redis);
} finally {
  await redis.kill();
}
const single = await runPhase('single-node', undefined);
for (const phase of [multi, single]) {
  const { onA, onB } = phase.latencyMs;
  console.log(
    `${phase.name.padEnd(11)}: ${fmt(phase.eventsPerSecond, 0)} events/s delivered; arrival -> subscriber on A p50/p95 ${fmt(onA.p50, 0)}/${fmt(onA.p95, 0)} ms` +
      (onB.events > 0 ? `, on B ${fmt(onB.p50, 0)}/${fmt(onB.p95, 0)} ms` : '') +
      `; CPU % of a core: node A ${fmt(phase.cpu.nodeA, 0)}, node B ${fmt(phase.cpu.nodeB, 0)}, redis ${fmt(phase.cpu.redis, 1)}; ` +
      `${fmt(phase.cpuPerThousandEvents, 3)} CPU s per 1000 events delivered`,
  );
}
const ratios = {
  cpuPerEvent: multi.cpuPerThousandEvents / single.cpuPerThousandEvents,
  latencyP50OnB: multi.latencyMs.onB.p50 / single.latencyMs.onA.p50,
  latencyP95OnB: multi.latencyMs.onB.p95 / single.latencyMs.onA.p95,
};
console.log(
  `multi / single: CPU per delivered event ${fmt(ratios.cpuPerEvent, 2)}x; latency at a subscriber on B vs one node p50 ${fmt(ratios.latencyP50OnB, 2)}x, p95 ${fmt(ratios.latencyP95OnB, 2)}x`,
);
writeResults(values.json, 'cluster', { streams: STREAMS, subscribers: SUBSCRIBERS, seconds: SECONDS, fps: Number(values.fps), phases: [multi, single], ratios });
process.exit(0);
