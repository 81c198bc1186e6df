import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookReceiver } from '../../examples/webhook-receiver.ts';
import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import type { Ack } from '../../protocol/signaling.ts';
import { SourceInfoSchema, type SourceInfo } from '../../protocol/sources.ts';
import type { WebhookPayload } from '../../protocol/webhooks.ts';
import type { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import type { App } from '../../server/src/app.ts';
import { signIngestToken, tokenKey } from '../../server/src/auth/tokens.ts';
import { joinCall, launchBrowser } from '../helpers/browser.ts';
import { subscribeToRoom } from '../helpers/roomSubscriber.ts';
import { startRedis } from '../helpers/redisServer.ts';
import { metricValue, startTestServer, TEST_SERVER_ENV } from '../helpers/server.ts';
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { alive, faceVideoHls, faceVideoMp4, fileServer, freePort, rtmpServer, sourceDecoders, srtServer, type LiveServer } from './localServers.ts';

const TOKEN_SECRET = 'ingest-test-secret-0123456789abcdef';
const WEBHOOK_SECRET = 'ingest-webhook-secret-0123456789abcdef';
const key = tokenKey(TOKEN_SECRET);
const ROOM = 'lobby';

const ingestToken = (room = ROOM) => signIngestToken({ room, sub: 'camera-service' }, key, 60);

async function request(app: App, method: string, path: string, options: { token?: string; body?: unknown; raw?: string; type?: string } = {}) {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers['content-type'] = options.type ?? 'application/json';
  const response = await fetch(`${app.url}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

async function health(app: App): Promise<Record<string, unknown>> {
  return (await (await fetch(`${app.url}/healthz`)).json()) as Record<string, unknown>;
}

async function metric(app: App, name: string, labels = ''): Promise<number | undefined> {
  return metricValue(await (await fetch(`${app.url}/metrics`)).text(), name, labels);
}

async function listSources(app: App, room = ROOM): Promise<SourceInfo[]> {
  const { json } = await request(app, 'GET', `/rooms/${room}/sources`, { token: await ingestToken(room) });
  return (json!.sources as unknown[]).map((s) => SourceInfoSchema.parse(s));
}

function affectRate(events: AffectStreamEvent[]): number {
  const affect = events.filter((e) => e.type === 'affect');
  if (affect.length < 2) return 0;
  return ((affect.length - 1) * 1000) / (affect.at(-1)!.emitTime - affect[0]!.emitTime);
}

describe('a pulled RTMP source', () => {
  let app: App;
  let video: string;
  let port: number;
  let rtmp: LiveServer | undefined;
  let subscriber: AffectSubscriber;
  let webhookServer: http.Server;
  const events: AffectStreamEvent[] = [];
  const webhooks: WebhookPayload[] = [];
  let source: SourceInfo;

  beforeAll(async () => {
    video = await faceVideoMp4();
    port = await freePort();
    webhookServer = http.createServer(createWebhookReceiver({ secret: WEBHOOK_SECRET, onWebhook: (payload) => void webhooks.push(payload) }));
    webhookServer.listen(0, '127.0.0.1');
    await once(webhookServer, 'listening');
    app = await startTestServer({
      TOKEN_SECRET,
      // The test's media servers are on loopback: the operator allowance is given here, and only here.
      SOURCE_ALLOW_PRIVATE: 'true',
      SOURCE_RECONNECT_DELAY_MS: '200',
      SOURCE_MAX_FAILURES: '30',
      WEBHOOK_URLS: `http://127.0.0.1:${(webhookServer.address() as AddressInfo).port}/`,
      WEBHOOK_SECRET,
      WEBHOOK_AFFECT_INTERVAL_MS: '500',
    });
    subscriber = await subscribeToRoom(app.url, await app.subscriberToken({ room: ROOM }, 300), ROOM, (event) => events.push(event));
  });

  afterAll(async () => {
    subscriber?.close();
    await rtmp?.stop();
    await app?.close();
    webhookServer?.closeAllConnections();
    webhookServer?.close();
  });

  it('is analysed: affect events for its peer on /affect, in the room as a participant, in webhooks', async () => {
    rtmp = rtmpServer(video, port);
    const created = await request(app, 'POST', `/rooms/${ROOM}/sources`, {
      token: await ingestToken(),
      body: { url: `rtmp://127.0.0.1:${port}/live/face`, name: 'Lobby camera' },
    });
    expect(created.status).toBe(201);
    source = SourceInfoSchema.parse(created.json);
    expect(created.headers.get('location')).toBe(`/rooms/${ROOM}/sources/${source.id}`);
    expect(source).toMatchObject({ roomId: ROOM, name: 'Lobby camera', state: 'connecting' });

    const ofSource = () => events.filter((e) => e.peerId === source.peerId && e.type === 'affect');
    const started = Date.now();
    await expect.poll(() => ofSource().length, { timeout: 20_000, interval: 100 }).toBeGreaterThan(0);
    const firstEventMs = Date.now() - started;
    events.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const rate = affectRate(ofSource());
    console.log(`pulled RTMP source: first affect event ${firstEventMs} ms after the POST's 201, then ${rate.toFixed(1)} events/s`);
    expect(rate).toBeGreaterThanOrEqual(5);
    expect(ofSource().every((e) => e.roomId === ROOM && e.type === 'affect' && e.producerId === source.id)).toBe(true);

    const [listed] = await listSources(app);
    // Its first attempt may have come before the RTMP server listened: then it connected on a retry.
    expect(listed).toMatchObject({ id: source.id, state: 'live' });
    expect(listed!.framesDelivered).toBeGreaterThan(20);
    expect(await health(app)).toMatchObject({ sources: 1, peers: 1, rooms: 1 });
    expect(await metric(app, 'ingest_sessions', '{kind="pull"}')).toBe(1);
    expect(await sourceDecoders()).toHaveLength(1);

    // A call participant sees it in the room, named, analysed.
    const socket: Socket = io(app.url, { transports: ['websocket'], reconnection: false });
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const ack = (await socket.timeout(5000).emitWithAck('join', { roomId: ROOM, displayName: 'Ada' })) as Ack<{
        peers: { peerId: string; displayName: string; analysed: boolean; producers: unknown[] }[];
      }>;
      expect(ack.ok && ack.data.peers).toEqual([{ peerId: source.peerId, displayName: 'Lobby camera', analysed: true, producers: [] }]);
    } finally {
      socket.close();
    }
    expect(subscriber.participants).toContainEqual(expect.objectContaining({ peerId: source.peerId, displayName: 'Lobby camera', present: true }));

    await expect
      .poll(() => webhooks.some((w) => w.event === 'participant_joined' && w.participant?.peerId === source.peerId), { timeout: 10_000 })
      .toBe(true);
    await expect
      .poll(() => webhooks.some((w) => w.event === 'affect' && w.faces?.some((f) => f.peerId === source.peerId)), { timeout: 10_000 })
      .toBe(true);
  });

  it('is a tile on the call page: its name, analysed, no video shown, its face drawn by the overlay', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await joinCall(page, app.url, ROOM, 'Viewer');
      const tile = page.locator(`[data-peer-id="${source.peerId}"]`);
      await expect.poll(() => tile.locator('figcaption').textContent(), { timeout: 10_000 }).toBe('Lobby camera');
      expect(await tile.locator('.analysis').textContent()).toBe('Analysed');
      expect(await tile.locator('.no-video').isVisible()).toBe(true);
      // The overlay mirrors the faces it draws as text: the source's face, with its expression.
      await expect.poll(() => tile.locator('.affect-labels').textContent(), { timeout: 10_000 }).toMatch(/^Face 1: \w+ \d+%/);
      // A participant with a camera shows its video, without the notice.
      expect(await page.locator('.tile.self .no-video').isVisible()).toBe(false);
    } finally {
      await browser.close();
    }
    // Chromium's start and join take most of it on a busy machine.
  }, 120_000);

  it('reconnects when its server goes and comes back, and its events resume', async () => {
    await rtmp!.stop();
    await expect.poll(async () => (await listSources(app))[0]?.state, { timeout: 15_000, interval: 100 }).toBe('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    events.length = 0;
    rtmp = rtmpServer(video, port);
    const restarted = Date.now();
    await expect.poll(() => events.filter((e) => e.peerId === source.peerId && e.type === 'affect').length, { timeout: 30_000, interval: 100 }).toBeGreaterThan(5);
    const [listed] = await listSources(app);
    console.log(`pulled RTMP source: events again ${Date.now() - restarted} ms after its server restarted (${listed!.connections} connections)`);
    expect(listed).toMatchObject({ state: 'live' });
    expect(listed!.connections).toBeGreaterThanOrEqual(2);
    expect(listed!.lastError).toBeDefined();
    expect(await metric(app, 'ingest_source_reconnects_total')).toBeGreaterThanOrEqual(1);
    expect(await sourceDecoders()).toHaveLength(1);
  });

  it('stops on DELETE: its face is lost, its peer leaves, its ffmpeg ends', async () => {
    events.length = 0;
    const token = await ingestToken();
    const deleted = await request(app, 'DELETE', `/rooms/${ROOM}/sources/${source.id}`, { token });
    expect(deleted.status).toBe(204);
    await expect.poll(() => events.some((e) => e.peerId === source.peerId && e.type === 'face-lost'), { timeout: 5000 }).toBe(true);
    expect(await listSources(app)).toEqual([]);
    expect(await health(app)).toMatchObject({ sources: 0, peers: 0, rooms: 0 });
    expect(await metric(app, 'ingest_sessions', '{kind="pull"}')).toBe(0);
    await expect.poll(sourceDecoders, { timeout: 5000 }).toEqual([]);
    expect((await request(app, 'DELETE', `/rooms/${ROOM}/sources/${source.id}`, { token })).status).toBe(404);
    await expect
      .poll(() => webhooks.some((w) => w.event === 'participant_left' && w.participant?.peerId === source.peerId), { timeout: 10_000 })
      .toBe(true);
  });

  it('pulls SRT (MPEG-TS from a listener)', async () => {
    const port = await freePort();
    const srt = srtServer(video, port);
    try {
      const created = await request(app, 'POST', `/rooms/${ROOM}/sources`, { token: await ingestToken(), body: { url: `srt://127.0.0.1:${port}`, name: 'SRT feed' } });
      expect(created.status).toBe(201);
      const feed = SourceInfoSchema.parse(created.json);
      await expect.poll(() => events.filter((e) => e.peerId === feed.peerId && e.type === 'affect').length, { timeout: 20_000, interval: 100 }).toBeGreaterThan(5);
      expect((await listSources(app))[0]).toMatchObject({ id: feed.id, state: 'live' });
      expect((await request(app, 'DELETE', `/rooms/${ROOM}/sources/${feed.id}`, { token: await ingestToken() })).status).toBe(204);
      await expect.poll(sourceDecoders, { timeout: 5000 }).toEqual([]);
    } finally {
      await srt.stop();
    }
  });

  it.each([
    ['an MP4 over HTTP, reached through a redirect', 'mp4'],
    ['an HLS playlist (VOD) and its segments over HTTP', 'hls'],
  ])('pulls %s at its own rate', async (what, kind) => {
    const files = await fileServer(kind === 'mp4' ? path.dirname(video) : await faceVideoHls());
    try {
      const base = `http://127.0.0.1:${files.port}`;
      const url = kind === 'mp4' ? `${base}/redirect?to=${encodeURIComponent(`${base}/face.mp4`)}` : `${base}/face.m3u8`;
      const created = await request(app, 'POST', `/rooms/${ROOM}/sources`, { token: await ingestToken(), body: { url, name: 'Recorded' } });
      expect(created.status).toBe(201);
      const recorded = SourceInfoSchema.parse(created.json);
      const ofRecorded = () => events.filter((e) => e.peerId === recorded.peerId && e.type === 'affect');
      await expect.poll(() => ofRecorded().length, { timeout: 20_000, interval: 100 }).toBeGreaterThan(0);
      events.length = 0;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      // Read at its own rate (-re): at most TAP_FPS (15) frames a second of wall time, not as fast as it downloads.
      const rate = affectRate(ofRecorded());
      console.log(`pulled ${what}: ${rate.toFixed(1)} events/s`);
      expect(rate).toBeGreaterThanOrEqual(5);
      expect(rate).toBeLessThanOrEqual(16);
      expect((await listSources(app))[0]).toMatchObject({ state: 'live', connections: 1 });
      expect((await request(app, 'DELETE', `/rooms/${ROOM}/sources/${recorded.id}`, { token: await ingestToken() })).status).toBe(204);
      await expect.poll(sourceDecoders, { timeout: 5000 }).toEqual([]);
    } finally {
      files.close();
    }
  });
});

describe('a pulled source on a node with REDIS_URL', () => {
  it('has its events in the room\'s durable history', async () => {
    const redis = await startRedis();
    const files = await fileServer(await faceVideoHls());
    const app = await startTestServer({ TOKEN_SECRET, SOURCE_ALLOW_PRIVATE: 'true', REDIS_URL: redis.url });
    try {
      const since = Date.now();
      const created = await request(app, 'POST', `/rooms/${ROOM}/sources`, {
        token: await ingestToken(),
        body: { url: `http://127.0.0.1:${files.port}/face.m3u8`, name: 'Recorded' },
      });
      expect(created.status).toBe(201);
      const { peerId } = SourceInfoSchema.parse(created.json);
      const token = await app.subscriberToken({ room: ROOM }, 60);
      const stored = async () => {
        const response = await fetch(`${app.url}/rooms/${ROOM}/affect?since=${since}`, { headers: { authorization: `Bearer ${token}` } });
        const lines = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as { type: string; peerId?: string });
        return lines.filter((line) => line.type === 'affect' && line.peerId === peerId).length;
      };
      await expect.poll(stored, { timeout: 20_000, interval: 500 }).toBeGreaterThanOrEqual(10);
    } finally {
      await app.close();
      files.close();
      await redis.kill();
    }
  });
});

describe('requests the endpoint refuses', () => {
  let app: App;
  let files: Awaited<ReturnType<typeof fileServer>>;
  let start: Record<string, unknown>;

  beforeAll(async () => {
    files = await fileServer(path.dirname(await faceVideoMp4()));
    app = await startTestServer({
      TOKEN_SECRET,
      ANALYSIS_ENABLED: 'false',
      // Only the name "localhost" is allowed (to test a redirect from it); its addresses by any other name are not.
      SOURCE_ALLOWED_HOSTS: 'localhost',
      MAX_SOURCES_PER_ROOM: '2',
      SOURCE_RECONNECT_DELAY_MS: '50',
      SOURCE_MAX_FAILURES: '3',
    });
    start = await health(app);
  });

  afterAll(async () => {
    await app?.close();
    files?.close();
  });

  const post = async (body: unknown, token?: string, room = ROOM) =>
    request(app, 'POST', `/rooms/${room}/sources`, { token: token ?? (await ingestToken(room)), body });

  it.each([
    ['rtsp://127.0.0.1:554/stream', 'loopback'],
    ['rtsp://[::1]:554/stream', 'loopback (::1)'],
    ['srt://[::ffff:127.0.0.1]:9000', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['rtmp://10.1.2.3/live/key', 'private (10/8)'],
    ['https://192.168.0.10/x.m3u8', 'private (192.168/16)'],
    ['rtmp://0.0.0.0/live', 'this network'],
    ['file:///etc/passwd', 'scheme file: not allowed'],
    ['concat:http://example.com/a.ts|http://example.com/b.ts', 'scheme concat'],
    ['subfile:,start,0,end,100,:/etc/passwd', 'scheme subfile'],
    ['data:video/mp4;base64,AAAA', 'scheme data'],
    ['udp://203.0.113.5:5000', 'scheme udp'],
  ])('refuses %s (%s) with 422', async (url, reason) => {
    const { status, json } = await post({ url, name: 'x' });
    expect(status).toBe(422);
    expect(json!.error).toContain(reason);
  });

  it('refuses a redirect to loopback, checked before anything follows it', async () => {
    const to = `http://127.0.0.1:${files.port}/face.mp4`;
    const { status, json } = await post({ url: `http://localhost:${files.port}/redirect?to=${encodeURIComponent(to)}`, name: 'x' });
    expect(status).toBe(422);
    expect(json!.error).toMatch(/redirected to http:\/\/127\.0\.0\.1:\d+\/face\.mp4: 127\.0\.0\.1 is loopback/);
  });

  it('lets ffmpeg fetch no HLS segment from a refused host: the playlist is allowed, its segments are not', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hostile-hls-'));
    const hls = await faceVideoHls();
    for (const name of await readdir(hls)) await symlink(path.join(hls, name), path.join(dir, name));
    const hostile = await fileServer(dir);
    try {
      const segments = [0, 1, 2, 3, 4].map((i) => `#EXTINF:2.0,\nhttp://127.0.0.1:${hostile.port}/face${i}.ts`);
      await writeFile(path.join(dir, 'hostile.m3u8'), ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-PLAYLIST-TYPE:VOD', ...segments, '#EXT-X-ENDLIST', ''].join('\n'));
      const created = await post({ url: `http://localhost:${hostile.port}/hostile.m3u8`, name: 'Hostile playlist' });
      expect(created.status).toBe(201);
      await expect.poll(async () => (await listSources(app))[0]?.state, { timeout: 30_000, interval: 200 }).toBe('failed');
      // ffmpeg read the playlist (through the proxy, to the allowed name) and never a segment of the refused address.
      expect(hostile.requested).toContain('/hostile.m3u8');
      expect(hostile.requested.filter((p) => p.endsWith('.ts'))).toEqual([]);
      expect((await listSources(app))[0]!.framesDelivered).toBe(0);
      expect((await request(app, 'DELETE', `/rooms/${ROOM}/sources/${String(created.json!.id)}`, { token: await ingestToken() })).status).toBe(204);
    } finally {
      hostile.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses missing, wrong and other rooms\' tokens', async () => {
    const body = { url: `http://localhost:${files.port}/face.mp4`, name: 'x' };
    const none = await request(app, 'POST', `/rooms/${ROOM}/sources`, { body });
    expect(none).toMatchObject({ status: 401, json: { error: expect.stringContaining('an ingest token is needed') } });
    const subscriber = await post(body, await app.subscriberToken({ room: ROOM }, 60));
    expect(subscriber).toMatchObject({ status: 401, json: { error: 'unauthorized: wrong kind of token (aud)' } });
    const participant = await post(body, await app.participantToken({ sub: 'a', room: ROOM, grants: { join: true, publish: true, subscribeAffect: true, analysed: true } }, 60));
    expect(participant).toMatchObject({ status: 401, json: { error: 'unauthorized: wrong kind of token (aud)' } });
    const other = await post(body, await ingestToken('another-room'));
    expect(other).toMatchObject({ status: 403, json: { error: `this token is for room another-room, not ${ROOM}` } });
    const forged = await post(body, await signIngestToken({ room: ROOM }, tokenKey('not-the-servers-secret-0123456789abcdef'), 60));
    expect(forged).toMatchObject({ status: 401, json: { error: 'unauthorized: bad signature' } });
    const list = await request(app, 'GET', `/rooms/${ROOM}/sources`, { token: await ingestToken('another-room') });
    expect(list.status).toBe(403);
  });

  it('refuses bad bodies, methods and paths, saying why', async () => {
    const token = await ingestToken();
    const path = `/rooms/${ROOM}/sources`;
    expect(await request(app, 'POST', path, { token, raw: '{"url":', type: 'application/json' })).toMatchObject({ status: 400, json: { error: 'the body is not JSON' } });
    expect(await request(app, 'POST', path, { token, raw: 'url=x', type: 'application/x-www-form-urlencoded' })).toMatchObject({ status: 415 });
    const noName = await request(app, 'POST', path, { token, body: { url: 'rtsp://example.com/x' } });
    expect(noName).toMatchObject({ status: 400, json: { error: expect.stringContaining('name:') } });
    const extra = await request(app, 'POST', path, { token, body: { url: 'rtsp://example.com/x', name: 'x', ffmpegArgs: ['-i', '/etc/passwd'] } });
    expect(extra).toMatchObject({ status: 400, json: { error: expect.stringContaining('ffmpegArgs') } });
    const huge = await request(app, 'POST', path, { token, body: { url: 'rtsp://example.com/x', name: 'x'.repeat(10_000) } });
    expect(huge).toMatchObject({ status: 413 });
    expect(await request(app, 'PUT', path, { token, body: {} })).toMatchObject({ status: 405 });
    expect((await request(app, 'PUT', path, { token, body: {} })).headers.get('allow')).toBe('GET, POST');
    expect(await request(app, 'POST', '/rooms/bad%20room!/sources', { token, body: {} })).toMatchObject({ status: 400 });
    expect(await request(app, 'DELETE', `${path}/not-a-source`, { token })).toMatchObject({ status: 404 });
  });

  it('bounds the sources of a room (MAX_SOURCES_PER_ROOM)', async () => {
    const body = { url: `http://localhost:${files.port}/face.mp4`, name: 'Camera' };
    const first = await post(body);
    const second = await post(body);
    expect([first.status, second.status]).toEqual([201, 201]);
    const third = await post(body);
    expect(third).toMatchObject({ status: 429, json: { error: expect.stringContaining('MAX_SOURCES_PER_ROOM') } });
    for (const created of [first, second]) {
      expect((await request(app, 'DELETE', `/rooms/${ROOM}/sources/${String(created.json!.id)}`, { token: await ingestToken() })).status).toBe(204);
    }
  });

  it('gives up on a source that never connects: failed, out of the room, listed until deleted', async () => {
    const port = await freePort();
    const created = await post({ url: `rtmp://localhost:${port}/live/nothing`, name: 'Nobody home' });
    expect(created.status).toBe(201);
    const { id, peerId } = SourceInfoSchema.parse(created.json);
    await expect.poll(async () => (await listSources(app))[0]?.state, { timeout: 15_000, interval: 100 }).toBe('failed');
    const [listed] = await listSources(app);
    expect(listed).toMatchObject({ id, connections: 3, framesDelivered: 0, lastError: expect.stringContaining('Connection refused') });
    expect((await health(app)).peers).toBe(start.peers);
    expect(app.rooms.get(ROOM)?.peers.has(peerId) ?? false).toBe(false);
    expect(await metric(app, 'ingest_sessions', '{kind="pull"}')).toBe(0);
    expect(await sourceDecoders()).toEqual([]);
    expect((await request(app, 'DELETE', `/rooms/${ROOM}/sources/${id}`, { token: await ingestToken() })).status).toBe(204);
    expect(await listSources(app)).toEqual([]);
  });

  it('answers 40 concurrent hostile requests with 4xx, and leaves nothing behind', async () => {
    const urls = ['rtsp://127.0.0.1/x', 'http://169.254.169.254/', 'rtmp://10.0.0.1/x', 'file:///etc/passwd'];
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => post({ url: urls[i % urls.length], name: `hostile ${i}` })));
    expect(results.every((r) => r.status === 422 && typeof r.json?.error === 'string')).toBe(true);
    await expect.poll(sourceDecoders, { timeout: 5000 }).toEqual([]);
    await expect.poll(() => health(app), { timeout: 5000 }).toMatchObject({
      sources: start.sources,
      peers: start.peers,
      rooms: start.rooms,
      transports: start.transports,
    });
    expect(await metric(app, 'ingest_sessions', '{kind="pull"}')).toBe(0);
  });
});

describe('a server stopped with SIGTERM', () => {
  it('ends every source ffmpeg before it exits', async () => {
    const files = await fileServer(path.dirname(await faceVideoMp4()));
    const server = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
      // Info: its "listening" line says where it listens.
      env: { ...process.env, ...TEST_SERVER_ENV, LOG_LEVEL: 'info', ANALYSIS_ENABLED: 'false', TOKEN_SECRET, SOURCE_ALLOW_PRIVATE: 'true' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let log = '';
        server.stderr!.setEncoding('utf8').on('data', (text: string) => {
          log += text;
          const listening = /"msg":"listening","url":"([^"]+)"/.exec(log);
          if (listening) resolve(listening[1]!);
        });
        server.once('exit', (code) => reject(new Error(`server exited (${code}): ${log.slice(-2000)}`)));
      });
      const token = await ingestToken();
      for (const name of ['One', 'Two']) {
        const response = await fetch(`${url}/rooms/${ROOM}/sources`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url: `http://127.0.0.1:${files.port}/face.mp4`, name }),
        });
        expect(response.status).toBe(201);
      }
      await expect.poll(() => sourceDecoders(server.pid), { timeout: 10_000 }).toHaveLength(2);
      const decoders = await sourceDecoders(server.pid);
      const exited = once(server, 'exit');
      server.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
      expect(decoders.filter(alive)).toEqual([]);
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
      files.close();
    }
  });
});
