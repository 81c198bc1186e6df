import { createClient } from 'redis';
import { io, type Socket } from 'socket.io-client';
import { redisKeys } from '../../server/src/cluster/keys.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, ResponseData, ServerEvents } from '../../protocol/signaling.ts';
import { startNode, type TestNode } from '../helpers/cluster.ts';
import { startRedis, type TestRedis } from '../helpers/redisServer.ts';

const ROOM = 'placed';
/** Short heartbeats: a dead node's rooms are free within 3 of them. */
const NODE_ENV = { NODE_HEARTBEAT_MS: '200', TAP_ENABLED: 'false', ANALYSIS_ENABLED: 'false' };

let redis: TestRedis;
let nodeA: TestNode;
let nodeB: TestNode;
let nodeC: TestNode | undefined;
const sockets: Socket[] = [];

type JoinAck = Ack<ResponseData['join']>;

async function connect(url: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
  return socket;
}

async function join(url: string, displayName: string): Promise<{ socket: Socket; ack: JoinAck }> {
  const socket = await connect(url);
  const ack = (await socket.timeout(5000).emitWithAck('join', { roomId: ROOM, displayName })) as JoinAck;
  return { socket, ack };
}

/** What the call page does: join, and on MOVED go where the room lives and join there. */
async function joinFollowing(url: string, displayName: string): Promise<{ socket: Socket; ack: JoinAck; hops: string[] }> {
  const hops: string[] = [];
  for (;;) {
    const attempt = await join(url, displayName);
    if (attempt.ack.ok || attempt.ack.error.code !== 'MOVED' || hops.length >= 3) return { ...attempt, hops };
    attempt.socket.close();
    url = attempt.ack.error.location!;
    hops.push(url);
  }
}

const cluster = async (node: TestNode) => (await node.health()).cluster;

beforeAll(async () => {
  redis = await startRedis();
  [nodeA, nodeB] = await Promise.all([
    startNode({ ...NODE_ENV, REDIS_URL: redis.url, NODE_ID: 'node-a' }),
    startNode({ ...NODE_ENV, REDIS_URL: redis.url, NODE_ID: 'node-b' }),
  ]);
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all([nodeA?.stop(), nodeB?.stop(), nodeC?.stop()]);
  await redis?.kill();
});

describe('rooms placed on one node', () => {
  it('a participant who reaches node B is sent to node A, where the room lives, and joins the same call', async () => {
    const first = await join(nodeA.url, 'Ada');
    expect(first.ack.ok).toBe(true);
    const moved = await join(nodeB.url, 'Bob');
    expect(moved.ack).toEqual({ ok: false, error: { code: 'MOVED', message: expect.any(String), location: nodeA.url } });
    moved.socket.close();
    const followed = await joinFollowing(nodeB.url, 'Bob');
    expect(followed.hops).toEqual([nodeA.url]);
    expect(followed.ack.ok && followed.ack.data.peers.map((p) => p.displayName)).toEqual(['Ada']);
  });

  it('/healthz shows the cluster: each node, its rooms, peers and load', async () => {
    await expect
      .poll(async () => (await cluster(nodeB)).nodes.map((n) => [n.id, n.rooms, n.peers]).sort(), { timeout: 5000 })
      .toEqual([
        ['node-a', 1, 2],
        ['node-b', 0, 0],
      ]);
    const view = await cluster(nodeA);
    expect(view.node).toBe('node-a');
    expect(view.nodes.every((n) => n.load >= 0 && n.draining === false && n.url.startsWith('http://127.0.0.1:'))).toBe(true);
  });

  it('node A killed: its room is created again on node B when a participant rejoins there', async () => {
    await nodeA.kill();
    // Its lease runs out after 3 missed heartbeats; B's view then no longer has it.
    await expect.poll(async () => (await cluster(nodeB)).nodes.map((n) => n.id), { timeout: 5000 }).toEqual(['node-b']);
    const rejoin = await joinFollowing(nodeB.url, 'Ada');
    expect(rejoin.hops).toEqual([]);
    expect(rejoin.ack.ok && rejoin.ack.data.peers).toEqual([]);
    expect(await nodeB.health()).toMatchObject({ rooms: 1, peers: 1 });
  });

  it('node B drained (SIGTERM): its participants are told, a newcomer is sent to node C, and B exits clean', async () => {
    nodeC = await startNode({ ...NODE_ENV, REDIS_URL: redis.url, NODE_ID: 'node-c' });
    await expect.poll(async () => (await cluster(nodeB)).nodes.length, { timeout: 5000 }).toBe(2);
    const present = sockets.at(-1)!;
    const told = new Promise<ServerEvents['roomClosed']>((resolve) => present.once('roomClosed', resolve));
    const exit = nodeB.stop();
    expect(await told).toEqual({ reason: 'server-shutdown' });
    // Still up while its participants go: a join there now goes to C.
    const newcomer = await join(nodeB.url, 'Cy');
    expect(newcomer.ack).toMatchObject({ ok: false, error: { code: 'MOVED', location: nodeC.url } });
    present.close();
    newcomer.socket.close();
    expect(await exit).toBe(0);
    const onC = await joinFollowing(nodeC.url, 'Ada');
    expect(onC.hops).toEqual([]);
    expect(onC.ack.ok).toBe(true);
  });

  it('Redis gone: a node still creates the rooms asked of it, and says Redis is down', async () => {
    await redis.kill();
    await expect.poll(async () => (await nodeC!.health()).cluster.redis, { timeout: 5000 }).toBe('down');
    const socket = await connect(nodeC!.url);
    const ack = (await socket.timeout(5000).emitWithAck('join', { roomId: 'without-redis', displayName: 'Di' })) as JoinAck;
    expect(ack.ok).toBe(true);
    await redis.start();
    await expect.poll(async () => (await nodeC!.health()).cluster.redis, { timeout: 10_000 }).toBe('up');
    // Healed: its heartbeat puts the room it created meanwhile back in the (emptied) directory.
    const probe = createClient({ url: redis.url });
    await probe.connect();
    try {
      await expect.poll(() => probe.get(redisKeys.roomNode('without-redis')), { timeout: 5000 }).toBe('node-c');
    } finally {
      probe.destroy();
    }
  });
});
