import { once } from 'node:events';
import net from 'node:net';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/src/app.ts';
import { loadConfig } from '../../server/src/config.ts';
import { originAllowed } from '../../server/src/http/origin.ts';
import { startTestServer } from '../helpers/server.ts';

const FRIEND = 'https://dashboards.example';
const METRICS = 'metrics-token-0123456789';
const IDLE_MS = 300;

describe('originAllowed', () => {
  it('admits no Origin, the server\'s own and listed ones; nothing else', () => {
    expect(originAllowed(undefined, 'call.example', [])).toBe(true);
    expect(originAllowed('https://call.example', 'call.example', [])).toBe(true);
    expect(originAllowed('http://127.0.0.1:3000', '127.0.0.1:3000', [])).toBe(true);
    expect(originAllowed(FRIEND, 'call.example', [FRIEND])).toBe(true);
    expect(originAllowed('https://evil.example', 'call.example', [FRIEND])).toBe(false);
    expect(originAllowed('http://127.0.0.1:3001', '127.0.0.1:3000', [])).toBe(false);
    expect(originAllowed('https://call.example.evil.example', 'call.example', [])).toBe(false);
    expect(originAllowed('null', 'call.example', [])).toBe(false);
  });

  it('takes ALLOWED_ORIGINS as origins only', () => {
    expect(loadConfig({ ALLOWED_ORIGINS: `${FRIEND}, http://localhost:8080/` }).allowedOrigins).toEqual([FRIEND, 'http://localhost:8080']);
    expect(() => loadConfig({ ALLOWED_ORIGINS: 'https://x.example/path' })).toThrow('not an origin');
    expect(() => loadConfig({ ALLOWED_ORIGINS: 'x.example' })).toThrow('not an origin');
  });
});

describe('the server behind its Origin allow-list and metrics token', () => {
  let app: App;
  beforeAll(async () => {
    app = await startTestServer({
      TAP_ENABLED: 'false',
      ANALYSIS_ENABLED: 'false',
      ALLOWED_ORIGINS: FRIEND,
      METRICS_TOKEN: METRICS,
      HTTP_IDLE_TIMEOUT_MS: String(IDLE_MS),
    });
  });
  afterAll(() => app?.close());

  async function connectFrom(origin: string): Promise<string> {
    const socket = io(app.url, { transports: ['websocket'], reconnection: false, extraHeaders: { origin } });
    try {
      return await new Promise<string>((resolve) => {
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (error) => resolve(`refused: ${error.message}`));
      });
    } finally {
      socket.close();
    }
  }

  it('refuses HTTP requests and sockets from pages of other sites', async () => {
    const statusFrom = async (origin: string) => (await fetch(`${app.url}/healthz`, { headers: { origin } })).status;
    expect(await statusFrom('https://evil.example')).toBe(403);
    expect(await statusFrom(FRIEND)).toBe(200);
    expect(await statusFrom(app.url)).toBe(200);
    expect(await connectFrom('https://evil.example')).toMatch(/^refused/);
    expect(await connectFrom(FRIEND)).toBe('connected');
    expect(await connectFrom(app.url)).toBe('connected');
  });

  it('closes a connection that sends nothing, and keeps a socket.io connection', async () => {
    const { port } = new URL(app.url);
    const idle = net.connect(Number(port), '127.0.0.1');
    const opened = Date.now();
    await once(idle, 'close');
    const lasted = Date.now() - opened;
    expect(lasted).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(lasted).toBeLessThan(IDLE_MS + 2000);
    const socket = io(app.url, { transports: ['websocket'], reconnection: false });
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 3 * IDLE_MS)); // longer than the idle timeout, on purpose
      expect(socket.connected).toBe(true);
    } finally {
      socket.close();
    }
  });

  it('serves /metrics only with its bearer token', async () => {
    const statusWith = async (authorization?: string) =>
      (await fetch(`${app.url}/metrics`, authorization === undefined ? {} : { headers: { authorization } })).status;
    expect(await statusWith()).toBe(401);
    expect(await statusWith(`Bearer ${METRICS}x`)).toBe(401);
    expect(await statusWith(`Bearer ${METRICS}`)).toBe(200);
  });
});
