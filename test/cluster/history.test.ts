import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import { HistoryLineSchema, historyPath, type HistoryLine } from '../../protocol/affect-history.ts';
import { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import { signSubscriberToken, tokenKey } from '../../server/src/auth/tokens.ts';
import { CLUSTER_TOKEN_SECRET, startNode, type TestNode } from '../helpers/cluster.ts';
import { freePort, startRedis, type TestRedis } from '../helpers/redisServer.ts';
import { subscribeToRoom } from '../helpers/roomSubscriber.ts';

const ROOM = 'history';

let redis: TestRedis;
let nodeA: TestNode;
let nodeB: TestNode;
let token: string;
const subscribers: AffectSubscriber[] = [];

async function subscribe(node: TestNode, since?: number) {
  const events: AffectStreamEvent[] = [];
  const subscriber = await subscribeToRoom(node.url, token, ROOM, (event) => events.push(event), since);
  subscribers.push(subscriber);
  return { subscriber, events };
}

async function history(node: TestNode, query: string, bearer = token): Promise<{ status: number; lines: HistoryLine[] }> {
  const response = await fetch(`${node.url}${historyPath(ROOM)}?${query}`, { headers: { authorization: `Bearer ${bearer}` } });
  if (response.status !== 200) return { status: response.status, lines: [] };
  expect(response.headers.get('content-type')).toBe('application/x-ndjson');
  const text = await response.text();
  return { status: 200, lines: text.trimEnd().split('\n').map((line) => HistoryLineSchema.parse(JSON.parse(line))) };
}

const eventsOf = (lines: HistoryLine[]) => lines.filter((l): l is AffectStreamEvent => l.type === 'affect' || l.type === 'face-lost');

beforeAll(async () => {
  redis = await startRedis();
  [nodeA, nodeB] = await Promise.all([
    startNode({ REDIS_URL: redis.url }),
    startNode({ REDIS_URL: redis.url, TAP_ENABLED: 'false', ANALYSIS_ENABLED: 'false' }),
  ]);
  await nodeA.replay(ROOM, 7101);
  token = await signSubscriberToken({ room: ROOM }, tokenKey(CLUSTER_TOKEN_SECRET), 300);
});

afterAll(async () => {
  for (const subscriber of subscribers) subscriber.close();
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  await redis?.kill();
});

describe('the durable affect stream', () => {
  it('GET /rooms/:room/affect?since= on another node equals what a live subscriber saw', async () => {
    const live = await subscribe(nodeB);
    await expect.poll(() => live.events.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(40);
    const seen = live.events.slice(0, 40);
    const first = seen[0]!;
    const since = first.type === 'affect' ? first.emitTime : first.time;
    const until = Math.max(...seen.map((e) => (e.type === 'affect' ? e.emitTime : e.time)));
    const { status, lines } = await history(nodeB, `since=${since}&until=${until + 1000}`);
    expect(status).toBe(200);
    expect(lines.at(-1)).toMatchObject({ type: 'end', truncated: false });
    expect(lines.some((l) => l.type === 'gap')).toBe(false);
    const stored = eventsOf(lines);
    const fromFirst = stored.slice(stored.findIndex((e) => e.producerId === first.producerId && e.seq === first.seq));
    expect(fromFirst.slice(0, seen.length)).toEqual(seen);
  });

  it('pages with limit and after, contiguously', async () => {
    const firstPage = await history(nodeA, 'limit=10');
    const end = firstPage.lines.at(-1)!;
    expect(end).toMatchObject({ type: 'end', events: 10, truncated: true });
    const next = end.type === 'end' ? end.next : null;
    const secondPage = await history(nodeA, `limit=10&after=${next}`);
    const seqs = [...eventsOf(firstPage.lines), ...eventsOf(secondPage.lines)].map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => seqs[0]! + i));
  });

  it('refuses a missing token, another room\'s token and a bad query', async () => {
    const otherRoom = await signSubscriberToken({ room: 'elsewhere' }, tokenKey(CLUSTER_TOKEN_SECRET), 60);
    expect((await history(nodeB, '', '')).status).toBe(401);
    expect((await history(nodeB, '', otherRoom)).status).toBe(403);
    expect((await history(nodeB, 'since=yesterday')).status).toBe(400);
    expect((await history(nodeB, 'limit=0')).status).toBe(400);
  });

  it('a subscriber with resume: true whose node restarts resubscribes from its last event and misses nothing', async () => {
    const port = String(await freePort());
    const env = { REDIS_URL: redis.url, TAP_ENABLED: 'false', ANALYSIS_ENABLED: 'false', PORT: port };
    let node = await startNode(env);
    const events: AffectStreamEvent[] = [];
    const subscriber = await AffectSubscriber.connect({
      url: node.url,
      token,
      subscriptions: [{ roomId: ROOM }],
      resume: true,
      onEvent: (event) => events.push(event),
      socketOptions: { reconnectionDelay: 200, reconnectionDelayMax: 500 },
    });
    subscribers.push(subscriber);
    await expect.poll(() => events.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(10);
    await node.kill();
    const atKill = events.length;
    // The same address again (a restart): the session died with the old process, the history did not.
    node = await startNode(env);
    try {
      await expect.poll(() => events.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(atKill + 20);
    } finally {
      subscriber.close();
      await node.stop();
    }
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    expect(subscriber.gaps).toBe(0);
  });

  it('node B killed: its subscriber resumes on node A from its last event and misses nothing', async () => {
    const onB = await subscribe(nodeB);
    await expect.poll(() => onB.events.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(10);
    await nodeB.kill();
    const before = [...onB.events];
    const last = before.filter((e) => e.type === 'affect').at(-1)!;
    // Events go on while the subscriber finds another node: these must come from the history.
    const onA = await subscribe(nodeA, last.type === 'affect' ? last.emitTime : 0);
    await expect.poll(() => onA.events.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(20);
    const producer = last.producerId;
    const seqs = [...before, ...onA.events].filter((e) => e.producerId === producer).map((e) => e.seq);
    const fromFirst = seqs.slice(seqs.indexOf(before.find((e) => e.producerId === producer)!.seq));
    // Resumed from the last event's time: the events at that very ms come again; every other seq once, none missing.
    const unique = [...new Set(fromFirst)];
    expect(unique).toEqual(Array.from({ length: unique.length }, (_, i) => unique[0]! + i));
    expect(onA.subscriber.gaps).toBe(0);
  });
});
