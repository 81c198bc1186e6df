import type { IncomingMessage } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack } from '../../protocol/signaling.ts';
import type { App } from '../../server/src/app.ts';
import { clientAddress } from '../../server/src/http/clientAddress.ts';
import { AddressQuota } from '../../server/src/signaling/AddressQuota.ts';
import { Rooms } from '../../server/src/sfu/Rooms.ts';
import { WorkerPool } from '../../server/src/sfu/WorkerPool.ts';
import { metricValue, startTestServer } from '../helpers/server.ts';

let app: App;
const sockets: Socket[] = [];

/** A client behind the trusted proxy, at `address`: resolves once connected, rejects with the refusal. */
function connectFrom(address: string): Promise<Socket> {
  const socket = io(app.url, { transports: ['websocket'], reconnection: false, extraHeaders: { 'x-forwarded-for': `198.51.100.1, ${address}` } });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

async function join(socket: Socket, roomId: string): Promise<Ack<Record<string, unknown>>> {
  return (await socket.timeout(5000).emitWithAck('join', { roomId, displayName: 'Pat' })) as Ack<Record<string, unknown>>;
}

const codeOf = (ack: Ack<unknown>) => (ack.ok ? 'OK' : ack.error.code);

beforeAll(async () => {
  app = await startTestServer({ TRUST_PROXY: 'true', MAX_CONNECTIONS_PER_IP: '3', MAX_ROOMS_PER_IP: '2', ANALYSIS_ENABLED: 'false', TAP_ENABLED: 'false' });
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await app?.close();
});

describe('per-address limits', () => {
  it('refuses an address its connection beyond MAX_CONNECTIONS_PER_IP, not the others, and frees a slot on close', async () => {
    const held = await Promise.all([1, 2, 3].map(() => connectFrom('203.0.113.7')));
    await expect(connectFrom('203.0.113.7')).rejects.toThrow();
    const other = await connectFrom('203.0.113.8');
    expect(other.connected).toBe(true);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metricValue(metrics, 'connections_refused_total', '{reason="address"}')).toBeGreaterThanOrEqual(1);

    held[0]!.close();
    await expect.poll(async () => connectFrom('203.0.113.7').then((s) => s.connected, () => false), { timeout: 5000 }).toBe(true);
    for (const socket of sockets) socket.close();
  });

  it('lets an address have peers in MAX_ROOMS_PER_IP distinct rooms, any number in each', async () => {
    const [a, b, c, d] = await Promise.all([1, 2, 3].map(() => connectFrom('203.0.113.9')).concat(connectFrom('203.0.113.10')));
    expect(codeOf(await join(a!, 'per-ip-1'))).toBe('OK');
    expect(codeOf(await join(b!, 'per-ip-2'))).toBe('OK');
    const third = await join(c!, 'per-ip-3');
    expect(third).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED' } });
    expect(app.rooms.get('per-ip-3')).toBeUndefined();
    expect(codeOf(await join(c!, 'per-ip-1'))).toBe('OK'); // a room it is in already
    expect(codeOf(await join(d!, 'per-ip-3'))).toBe('OK'); // another address

    expect(codeOf((await b!.timeout(5000).emitWithAck('leave', {})) as Ack<unknown>)).toBe('OK');
    expect(codeOf(await join(b!, 'per-ip-3'))).toBe('OK'); // per-ip-2 no longer counts: nobody of the address is in it
  });
});

describe('clientAddress', () => {
  const request = (remoteAddress: string, forwarded?: string) =>
    ({ socket: { remoteAddress }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as IncomingMessage;

  it('is the peer address unless the proxy is trusted, then the entry the proxy appended', () => {
    expect(clientAddress(request('::ffff:10.0.0.5', '1.2.3.4'), false)).toBe('10.0.0.5');
    expect(clientAddress(request('10.0.0.5', 'spoofed, 1.2.3.4'), true)).toBe('1.2.3.4');
    expect(clientAddress(request('10.0.0.5'), true)).toBe('10.0.0.5');
    expect(clientAddress(request('::1', ' '), true)).toBe('::1');
  });
});

describe('AddressQuota', () => {
  it('counts distinct items per address, and forgets an address that holds nothing', () => {
    const quota = new AddressQuota(2);
    expect([quota.take('a', 'r1'), quota.take('a', 'r1'), quota.take('a', 'r2'), quota.take('a', 'r3')]).toEqual([true, true, true, false]);
    expect(quota.full('a')).toBe(true);
    expect(quota.take('b', 'r3')).toBe(true);
    quota.give('a', 'r1');
    expect(quota.full('a')).toBe(true); // r1 is still held once
    quota.give('a', 'r1');
    expect(quota.take('a', 'r3')).toBe(true);
    quota.give('a', 'r2');
    quota.give('a', 'r3');
    quota.give('a', 'never-taken');
    quota.give('b', 'r3');
    expect(quota.addresses).toBe(0);
  });
});

describe('the room reaper', () => {
  it('closes a room found without peers', async () => {
    const pool = await WorkerPool.create({ numWorkers: 1, rtcMinPort: 40000, rtcMaxPort: 49999 });
    const rooms = new Rooms(pool, 10, { maxPeers: 4, maxProducersPerPeer: 1, listenIp: '127.0.0.1', announcedAddress: '127.0.0.1' }, 50);
    try {
      const { room, peer } = await rooms.join('leaky', { displayName: 'Pat', analysed: false });
      room.peers.delete(peer.id); // the bug the reaper is there for: a peer gone without leaving
      await expect.poll(() => rooms.size, { timeout: 2000 }).toBe(0);
      expect(room.closed).toBe(true);
    } finally {
      rooms.closeAll();
      pool.close();
    }
  });
});
