import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookReceiver } from '../../examples/webhook-receiver.ts';
import { WEBHOOK_HEADERS, type WebhookPayload } from '../../protocol/webhooks.ts';
import type { Ack } from '../../protocol/signaling.ts';
import type { App } from '../../server/src/app.ts';
import { AffectBatcher } from '../../server/src/webhooks/affectBatcher.ts';
import { signWebhook } from '../../server/src/webhooks/signature.ts';
import { retryDelayMs, WebhookSender } from '../../server/src/webhooks/WebhookSender.ts';
import { syntheticAffectEvent } from '../helpers/affectEvent.ts';
import { metricValue, startTestServer } from '../helpers/server.ts';

const SECRET = 'webhook-test-secret-0123456789abcdef';
const servers: http.Server[] = [];

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

describe('webhooks from a call', () => {
  let app: App;
  /** Attempts per delivery id, as the receiver's front saw them. */
  const attempts = new Map<string, number>();
  /** What the example receiver handled (once per id, it promises). */
  const handled: WebhookPayload[] = [];

  beforeAll(async () => {
    const receive = createWebhookReceiver({ secret: SECRET, onWebhook: (payload) => void handled.push(payload) });
    // A receiver that fails twice for every delivery before it takes it.
    const url = await listen((req, res) => {
      const id = String(req.headers[WEBHOOK_HEADERS.id]);
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      if (attempt <= 2) {
        req.resume();
        res.writeHead(500).end();
        return;
      }
      receive(req, res);
    });
    app = await startTestServer({
      ANALYSIS_ENABLED: 'false',
      TAP_ENABLED: 'false',
      WEBHOOK_URLS: url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_RETRY_BASE_MS: '20',
      WEBHOOK_AFFECT_INTERVAL_MS: '100',
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('sends room, participant and analysis webhooks, each handled once despite two 500s, signatures verified', async () => {
    const socket: Socket = io(app.url, { transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const ack = (await socket.timeout(5000).emitWithAck('join', { roomId: 'hooks', displayName: 'Ada' })) as Ack<{ peerId: string }>;
    expect(ack.ok).toBe(true);
    const peerId = ack.ok ? ack.data.peerId : '';
    socket.disconnect();

    const expected = ['room_started', 'participant_joined', 'analysis_started', 'participant_left', 'room_finished'];
    await expect.poll(() => handled.map((p) => p.event).sort(), { timeout: 15_000 }).toEqual([...expected].sort());
    // Once each, by id, after exactly three attempts each.
    expect(new Set(handled.map((p) => p.id)).size).toBe(handled.length);
    for (const payload of handled) expect(attempts.get(payload.id)).toBe(3);
    expect(handled.every((p) => p.roomId === 'hooks')).toBe(true);
    const joined = handled.find((p) => p.event === 'participant_joined')!;
    expect(joined.participant).toEqual({ peerId, displayName: 'Ada' });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metricValue(metrics, 'webhook_deliveries_total', '{outcome="delivered"}')).toBe(5);
    expect(metricValue(metrics, 'webhook_deliveries_total', '{outcome="retried"}')).toBe(10);
  });

  it('sends affect events as batches of changed faces', async () => {
    // Events as the analysis publishes them (through the hub, as a camera's would be).
    app.hub.publish(syntheticAffectEvent('hooks', 0, { valence: 0.1 }));
    app.hub.publish(syntheticAffectEvent('hooks', 1, { valence: 0.5, faceId: 2 }));
    await expect.poll(() => handled.filter((p) => p.event === 'affect').length, { timeout: 15_000 }).toBe(1);
    const batch = handled.find((p) => p.event === 'affect')!;
    expect(batch.faces?.map((f) => [f.faceId, f.valence, f.present])).toEqual([
      [1, 0.1, true],
      [2, 0.5, true],
    ]);
  });
});

describe('webhooks of a server closing', () => {
  it('go out before it closes: room_finished of the rooms it closes', async () => {
    const handled: WebhookPayload[] = [];
    const url = await listen(createWebhookReceiver({ secret: SECRET, onWebhook: (payload) => void handled.push(payload) }));
    const app = await startTestServer({ ANALYSIS_ENABLED: 'false', TAP_ENABLED: 'false', WEBHOOK_URLS: url, WEBHOOK_SECRET: SECRET });
    const socket: Socket = io(app.url, { transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    expect(((await socket.timeout(5000).emitWithAck('join', { roomId: 'closing', displayName: 'Ada' })) as Ack<unknown>).ok).toBe(true);
    await app.close();
    socket.close();
    expect(handled.map((p) => p.event)).toContain('room_finished');
  });
});

describe('the example receiver', () => {
  const handled: WebhookPayload[] = [];
  let url: string;
  const body = JSON.stringify({ id: 'd1', event: 'room_started', createdAt: 1, roomId: 'r' });
  const post = (headers: Record<string, string>, text = body) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text }).then((r) => r.status);
  const now = () => Math.floor(Date.now() / 1000);
  const signed = (id: string, ts: number, text: string, secret = SECRET) => ({
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: String(ts),
    [WEBHOOK_HEADERS.signature]: signWebhook(secret, id, ts, text),
  });

  beforeAll(async () => {
    url = await listen(createWebhookReceiver({ secret: SECRET, onWebhook: (payload) => void handled.push(payload) }));
  });

  it('rejects a bad signature, another secret, a tampered body, a stale time; takes a good one once', async () => {
    expect(await post({ ...signed('d1', now(), body), [WEBHOOK_HEADERS.signature]: 'v1,AAAA' })).toBe(401);
    expect(await post(signed('d1', now(), body, 'another-secret-0123456789abcdef0123'))).toBe(401);
    expect(await post(signed('d1', now(), body), body.replace('room_started', 'room_finished'))).toBe(401);
    expect(await post(signed('d1', now() - 3600, body))).toBe(401);
    expect(await post({})).toBe(401);
    expect(handled).toEqual([]);
    expect(await post(signed('d1', now(), body))).toBe(204);
    expect(await post(signed('d1', now(), body))).toBe(200);
    expect(handled.map((p) => p.id)).toEqual(['d1']);
  });
});

describe('the sender', () => {
  it('drops and counts deliveries beyond its queue while a receiver hangs; gives up after its attempts', async () => {
    const hanging = await listen(() => {});
    const outcomes: string[] = [];
    const sender = new WebhookSender({
      urls: [hanging],
      secret: SECRET,
      maxQueue: 2,
      maxAttempts: 1,
      retryBaseMs: 10,
      timeoutMs: 300,
      onOutcome: (outcome) => outcomes.push(outcome),
    });
    for (let i = 0; i < 5; i += 1) sender.send({ event: 'room_started', createdAt: i, roomId: 'r' });
    expect(outcomes).toEqual(['dropped', 'dropped', 'dropped']);
    expect(sender.queued).toBe(2);
    // The two in flight time out, and with one attempt allowed they are dropped too.
    await expect.poll(() => outcomes.length, { timeout: 5000 }).toBe(5);
    expect(sender.queued).toBe(0);
    sender.close();
  });

  it('backs off exponentially, capped, with bounded jitter', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 0))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(30, 1000, 0)).toBe(60_000);
    expect(retryDelayMs(1, 1000, 1)).toBe(1200);
  });
});

describe('affect batches', () => {
  it('send a face when it changed enough, once, and its end', () => {
    const batcher = new AffectBatcher(0.1);
    batcher.add(syntheticAffectEvent('r', 0, { valence: 0.1 }));
    batcher.add(syntheticAffectEvent('r', 1, { valence: 0.12 }));
    expect(batcher.flush().get('r')).toEqual([expect.objectContaining({ valence: 0.12, present: true })]);
    // Small moves are not repeated.
    batcher.add(syntheticAffectEvent('r', 2, { valence: 0.15, arousal: 0.05 }));
    expect(batcher.flush().size).toBe(0);
    // A big move, or another expression, is.
    batcher.add(syntheticAffectEvent('r', 3, { valence: 0.3 }));
    expect(batcher.flush().get('r')).toEqual([expect.objectContaining({ valence: 0.3 })]);
    batcher.add(syntheticAffectEvent('r', 4, { valence: 0.3, expression: { label: 'happy', probs: { happy: 1 } } }));
    expect(batcher.flush().get('r')).toEqual([expect.objectContaining({ expression: 'happy' })]);
    // The track ends: said once, then the face is forgotten.
    batcher.add({ type: 'face-lost', v: 2, seq: 5, roomId: 'r', peerId: 'p', producerId: 's', faceId: 1, time: 4 });
    expect(batcher.flush().get('r')).toEqual([expect.objectContaining({ present: false })]);
    expect(batcher.flush().size).toBe(0);
  });
});
