import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import { createClient } from 'redis';
import { io, type Socket } from 'socket.io-client';
import { AFFECT_EVENT, AFFECT_NAMESPACE } from '../../protocol/affect-subscriber.ts';
import { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import { signSubscriberToken, tokenKey } from '../../server/src/auth/tokens.ts';
import { CLUSTER_TOKEN_SECRET, startNode, type TestNode } from '../helpers/cluster.ts';
import { startRedis, type TestRedis } from '../helpers/redisServer.ts';
import { subscribeToRoom } from '../helpers/roomSubscriber.ts';

const ROOM = 'cluster';

let redis: TestRedis;
let nodeA: TestNode;
let nodeB: TestNode;
let peerId: string;
const subscribers: AffectSubscriber[] = [];
const sockets: Socket[] = [];

async function subscribe(node: TestNode): Promise<{ subscriber: AffectSubscriber; events: AffectStreamEvent[] }> {
  const token = await signSubscriberToken({ room: ROOM }, tokenKey(CLUSTER_TOKEN_SECRET), 300);
  const events: AffectStreamEvent[] = [];
  const subscriber = await subscribeToRoom(node.url, token, ROOM, (event) => events.push(event));
  subscribers.push(subscriber);
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
  for (const socket of sockets) socket.close();
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

  it('a subscriber cut off from node B recovers its session on node A, with the events it missed', async () => {
    const token = await signSubscriberToken({ room: ROOM }, tokenKey(CLUSTER_TOKEN_SECRET), 300);
    const seqs: number[] = [];
    const onB = io(`${nodeB.url}${AFFECT_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token } });
    onB.on(AFFECT_EVENT, (event: AffectStreamEvent) => seqs.push(event.seq));
    await new Promise<void>((resolve) => onB.once('connect', () => resolve()));
    expect(((await onB.emitWithAck('subscribe', { roomId: ROOM })) as { ok: boolean }).ok).toBe(true);
    await expect.poll(() => seqs.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(5);
    // The connection drops (the network, a load balancer): B keeps the session in Redis for the recovery window.
    const { _pid: pid, _lastOffset: offset } = onB as unknown as { _pid: string; _lastOffset: string };
    onB.io.engine.close();
    const seenOnB = seqs.length;
    // Events go on meanwhile; the client comes back through node A with the same session.
    // B has noticed and stored the session.
    const probe = createClient({ url: redis.url });
    await probe.connect();
    await expect.poll(() => probe.exists(`affect-call:sio-session:${pid}`), { timeout: 10_000 }).toBe(1);
    probe.destroy();
    const onA = io(`${nodeA.url}${AFFECT_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token, pid, offset } });
    sockets.push(onA);
    onA.on(AFFECT_EVENT, (event: AffectStreamEvent) => seqs.push(event.seq));
    await new Promise<void>((resolve) => onA.once('connect', () => resolve()));
    // (onA.recovered stays false: socket.io-client compares with a pid of its own, and this socket is new.)
    await expect.poll(() => seqs.length, { timeout: 20_000 }).toBeGreaterThan(seenOnB + 10);
    // No subscribe on A: the recovered session brought its rooms. Every seq once, none missing.
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
  });

  it("a participant's dashboard token works on node B, and ends there when the participant leaves node A", async () => {
    const room = 'cluster-dashboard';
    const { producerId, peerId: participant } = await nodeA.replay(room, 7002);
    // What `affectToken` hands a participant: a token bound to it.
    const token = await signSubscriberToken({ room, participant }, tokenKey(CLUSTER_TOKEN_SECRET), 300);
    const dashboard = await AffectSubscriber.connect({ url: nodeB.url, token, subscriptions: [{ roomId: room }], socketOptions: { reconnection: false } });
    subscribers.push(dashboard);
    await expect.poll(() => dashboard.participants.map((p) => p.peerId), { timeout: 5_000 }).toEqual([participant]);
    await nodeA.stopReplay(producerId);
    await expect.poll(() => dashboard.socket.connected, { timeout: 5_000 }).toBe(false);
    // And the token no longer opens a connection anywhere.
    await expect(AffectSubscriber.connect({ url: nodeB.url, token, subscriptions: [{ roomId: room }] })).rejects.toThrow(/has left/);
  });

  it('Redis gone: the call and local delivery go on; Redis back: node B gets the events again', async () => {
    const onA = await subscribe(nodeA);
    const onB = await subscribe(nodeB);
    await expect.poll(() => onB.events.length, { timeout: 20_000 }).toBeGreaterThan(5);

    await redis.kill();
    const atKill = onA.events.length;
    // A's own subscriber keeps receiving the call's events, from a call that keeps going.
    await expect.poll(() => onA.events.length, { timeout: 10_000 }).toBeGreaterThan(atKill + 30);
    expect(await nodeA.health()).toMatchObject({ rooms: 1, peers: 1 });

    await redis.start();
    const atRestart = onB.events.length;
    await expect.poll(() => onB.events.length, { timeout: 20_000 }).toBeGreaterThan(atRestart + 30);
    // What B missed while Redis was away shows as a gap in the sequence numbers, not as silence.
    expect(onB.subscriber.gaps).toBeGreaterThanOrEqual(1);
  });
});
