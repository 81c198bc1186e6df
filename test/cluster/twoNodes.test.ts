import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import { signSubscriberToken, tokenKey } from '../../server/src/auth/tokens.ts';
import { CLUSTER_TOKEN_SECRET, startNode, type TestNode } from '../helpers/cluster.ts';
import { startRedis, type TestRedis } from '../helpers/redisServer.ts';

const ROOM = 'cluster';

let redis: TestRedis;
let nodeA: TestNode;
let nodeB: TestNode;
let peerId: string;
const subscribers: AffectSubscriber[] = [];

async function subscribe(node: TestNode): Promise<{ subscriber: AffectSubscriber; events: AffectStreamEvent[] }> {
  const token = await signSubscriberToken({ room: ROOM }, tokenKey(CLUSTER_TOKEN_SECRET), 300);
  const subscriber = await AffectSubscriber.connect({ url: node.url, token, subscriptions: [{ roomId: ROOM }] });
  subscribers.push(subscriber);
  const events: AffectStreamEvent[] = [];
  subscriber.onEvent((event) => events.push(event));
  return { subscriber, events };
}

beforeAll(async () => {
  redis = await startRedis();
  [nodeA, nodeB] = await Promise.all([
    startNode({ REDIS_URL: redis.url }),
    // B only serves subscribers here: no decoding or model, so the two nodes do not compete for the cores.
    startNode({ REDIS_URL: redis.url, TAP_ENABLED: 'false', ANALYSIS_ENABLED: 'false' }),
  ]);
  ({ peerId } = await nodeA.replay(ROOM, 7001));
});

afterAll(async () => {
  for (const subscriber of subscribers) subscriber.close();
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  await redis?.kill();
});

describe('two nodes on one Redis', () => {
  it('a subscriber on node B receives the events of a call on node A, the same as one on A', async () => {
    const onA = await subscribe(nodeA);
    const onB = await subscribe(nodeB);
    await expect.poll(() => onB.events.filter((e) => e.type === 'affect').length, { timeout: 30_000 }).toBeGreaterThanOrEqual(30);
    expect(onB.events.every((e) => e.roomId === ROOM && e.peerId === peerId)).toBe(true);
    // B sees exactly what A's subscriber sees, in order: every seq of A's from B's first on.
    const seqsB = onB.events.map((e) => e.seq);
    await expect.poll(() => onA.events.at(-1)?.seq ?? -1, { timeout: 5_000 }).toBeGreaterThanOrEqual(seqsB.at(-1)!);
    const seqsA = onA.events.map((e) => e.seq).filter((seq) => seq >= seqsB[0]! && seq <= seqsB.at(-1)!);
    expect(seqsB).toEqual(seqsA);
    expect(onB.subscriber.gaps).toBe(0);
    // Who is in the room travels too.
    await expect.poll(() => onB.subscriber.participants.map((p) => p.peerId), { timeout: 5_000 }).toContain(peerId);
  });

  it('Redis gone: the call and local delivery go on; Redis back: node B gets the events again', async () => {
    const onA = await subscribe(nodeA);
    const onB = await subscribe(nodeB);
    await expect.poll(() => onB.events.length, { timeout: 20_000 }).toBeGreaterThan(5);

    await redis.kill();
    const atKill = onA.events.length;
    // A's own subscriber keeps receiving the call's events, from a call that keeps going.
    await expect.poll(() => onA.events.length, { timeout: 10_000 }).toBeGreaterThan(atKill + 30);
    const health = (await (await fetch(`${nodeA.url}/healthz`)).json()) as { rooms: number; peers: number };
    expect(health).toMatchObject({ rooms: 1, peers: 1 });

    await redis.start();
    const atRestart = onB.events.length;
    await expect.poll(() => onB.events.length, { timeout: 20_000 }).toBeGreaterThan(atRestart + 30);
    // What B missed while Redis was away shows as a gap in the sequence numbers, not as silence.
    expect(onB.subscriber.gaps).toBeGreaterThanOrEqual(1);
  });
});
