import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { Server } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Ack } from '../../protocol/signaling.ts';
import { forbidden } from '../../server/src/errors.ts';
import { createLogger } from '../../server/src/log.ts';
import { serveRequests } from '../../server/src/signaling/serveRequests.ts';

const BURST = 5;
const schemas = { echo: z.strictObject({ text: z.string() }), crash: z.strictObject({}), deny: z.strictObject({}) };

let server: http.Server;
let ioServer: Server;
let url: string;
const errors = new Counter({ name: 'test_errors_total', help: 'error acks', labelNames: ['code'], registers: [new Registry()] });
let handled = 0;
let client: Socket;

beforeAll(async () => {
  server = http.createServer();
  ioServer = new Server(server);
  ioServer.on('connection', (socket) =>
    serveRequests(
      socket,
      schemas,
      {
        echo: async ({ text }) => {
          handled += 1;
          return { text };
        },
        // A bug of ours, with details that must stay on the server.
        crash: async () => {
          throw new TypeError('cannot read properties of undefined (reading "secretThing") at /srv/app/internal.ts:42');
        },
        deny: async () => {
          throw forbidden('not for you');
        },
      },
      { requestsPerSecond: 1, requestBurst: BURST, errors, log: createLogger('test') },
    ),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => client?.close());
afterAll(async () => {
  ioServer.close();
  await new Promise((resolve) => server.close(resolve));
});

async function connected(): Promise<Socket> {
  client = io(url, { transports: ['websocket'] });
  const socket = client;
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return socket;
}

const ask = async (socket: Socket, event: string, payload?: unknown) =>
  (await socket.timeout(5000).emitWithAck(event, payload)) as Ack<unknown>;

describe('serveRequests, the one request edge', () => {
  it('answers our own bug INTERNAL, without its insides, and logs it with its stack', async () => {
    const socket = await connected();
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let ack: Ack<unknown>;
    let lines: string[];
    try {
      ack = await ask(socket, 'crash', {});
    } finally {
      lines = stderr.mock.calls.map(([line]) => String(line));
      stderr.mockRestore();
    }
    expect(ack).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'crash failed on the server' } });
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'error', msg: 'request failed', request: 'crash', error: { name: 'TypeError' } });
    expect(String(logged[0]!.stack)).toContain('serveRequests.test.ts');
    expect((await errors.get()).values.find((v) => v.labels.code === 'INTERNAL')?.value).toBe(1);
  });

  it('answers a RequestError with its code, unknown and invalid requests as such', async () => {
    const socket = await connected();
    expect(await ask(socket, 'deny', {})).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: 'not for you' } });
    expect(await ask(socket, 'nope', {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_REQUEST' } });
    expect(await ask(socket, 'echo', { text: 1 })).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(await ask(socket, 'echo', { text: 'x'.repeat(70_000) })).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
  });

  it('charges events without an ack to the rate limit, and hands them to no handler', async () => {
    const socket = await connected();
    handled = 0;
    for (let i = 0; i < BURST; i++) socket.emit('echo', { text: 'no ack' });
    expect(await ask(socket, 'echo', { text: 'with ack' })).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    expect(handled).toBe(0);
  });

  it('disconnects a socket that keeps sending into the rate limit', async () => {
    const socket = await connected();
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    // A burst's worth go through, another burst's worth are refused, and the next one ends it.
    for (let i = 0; i < 2 * BURST + 1; i++) socket.emit('echo', { text: 'flood' });
    expect(await disconnected).toBe('io server disconnect');
  });
});
