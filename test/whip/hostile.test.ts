import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grants } from '../../protocol/tokens.ts';
import type { App } from '../../server/src/app.ts';
import { metricValue, startTestServer } from '../helpers/server.ts';

/** An offer Chromium made: valid, but no client behind it sends media, so its sessions end on their own. */
const OFFER = readFileSync(new URL('fixtures/chromium-offer.sdp', import.meta.url), 'utf8');
const SECRET = 'test-token-secret-0123456789abcdef';
const PUBLISHER: Grants = { join: true, publish: true, subscribeAffect: false, analysed: true };
const MAX_SESSIONS = 6;
const MAX_PEERS = 3;
const ALLOWED_ORIGIN = 'https://studio.example';

let app: App;
let baseline: Record<string, unknown>;
let identities = 0;

const token = (room: string, grants: Partial<Grants> = {}, sub = `publisher-${++identities}`) =>
  app.participantToken({ sub, room, grants: { ...PUBLISHER, ...grants } }, 60);

interface Answer {
  status: number;
  body: string;
  headers: Headers;
}

async function post(room: string, options: { token?: string; body?: BodyInit; type?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await fetch(`${app.url}/whip/${room}`, {
    method: 'POST',
    headers: {
      'content-type': options.type ?? 'application/sdp',
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...options.headers,
    },
    body: options.body ?? OFFER,
    ...(options.body instanceof ReadableStream && { duplex: 'half' }),
  } as RequestInit);
  return { status: response.status, body: await response.text(), headers: response.headers };
}

/** The SFU's counts and the WHIP sessions, which every refused or ended request must leave as they were. */
async function counts(): Promise<Record<string, unknown>> {
  const health = (await (await fetch(`${app.url}/healthz`)).json()) as Record<string, unknown>;
  const { rooms, peers, transports, audioProducers, videoProducers, consumers, whipSessions, taps } = health;
  return { rooms, peers, transports, audioProducers, videoProducers, consumers, whipSessions, taps };
}

async function expectBaseline(): Promise<void> {
  await expect.poll(counts, { timeout: 15_000 }).toEqual(baseline);
  expect(metricValue(await app.metrics.registry.metrics(), 'ingest_sessions', '{kind="whip"}')).toBe(0);
}

beforeAll(async () => {
  app = await startTestServer({
    CALL_AUTH: 'token',
    TOKEN_SECRET: SECRET,
    ALLOWED_ORIGINS: ALLOWED_ORIGIN,
    MAX_WHIP_SESSIONS: String(MAX_SESSIONS),
    MAX_PEERS_PER_ROOM: String(MAX_PEERS),
    WHIP_MAX_SDP_BYTES: '16384',
    WHIP_NO_MEDIA_TIMEOUT_MS: '3000',
    // Nothing here sends media: no model is needed.
    ANALYSIS_ENABLED: 'false',
  });
  baseline = await counts();
});

afterAll(async () => {
  await app?.close();
});

describe('POST /whip/:room refuses, with a status and a reason, and leaves nothing behind', () => {
  it.each([
    ['no token', async () => post('r1'), 401, /^unauthorized: no token/],
    ['a token that is not a JWT', async () => post('r1', { token: 'not-a-token' }), 401, /^unauthorized: malformed token/],
    ['a subscriber token', async () => post('r1', { token: await app.subscriberToken({ room: 'r1' }, 60) }), 401, /^unauthorized: wrong kind of token/],
    ['a token for another room', async () => post('r1', { token: await token('r2') }), 403, /^this token does not grant room r1$/],
    ['a token without the publish grant', async () => post('r1', { token: await token('r1', { publish: false }) }), 403, /^this token does not grant sending media$/],
    ['a token without the join grant', async () => post('r1', { token: await token('r1', { join: false }) }), 403, /does not grant joining a call/],
    ['another content type', async () => post('r1', { token: await token('r1'), type: 'application/json', body: '{}' }), 415, /Content-Type: application\/sdp/],
    ['a body that is not SDP', async () => post('r1', { token: await token('r1'), body: 'hello' }), 400, /^bad SDP offer: it must start with v=0$/],
    ['SDP without a fingerprint', async () => post('r1', { token: await token('r1'), body: OFFER.replace(/a=fingerprint.*\r\n/g, '') }), 400, /no a=fingerprint/],
    ['an offer over the size limit', async () => post('r1', { token: await token('r1'), body: `${OFFER}${'a=x\r\n'.repeat(3000)}` }), 413, /limit is 16384/],
    [
      'an offer over the size limit, streamed without a length',
      async () =>
        post('r1', {
          token: await token('r1'),
          body: new ReadableStream({
            start(controller) {
              for (let i = 0; i < 40; i++) controller.enqueue(new TextEncoder().encode('a=x'.repeat(300)));
              controller.close();
            },
          }),
        }),
      413,
      /over 16384 bytes/,
    ],
    [
      'video only in codecs the server cannot decode',
      async () => post('r1', { token: await token('r1'), body: OFFER.replace(/a=rtpmap:(\d+) (VP8|H264)\//g, 'a=rtpmap:$1 X$2/') }),
      422,
      /^unsupported video codec: offered .*XVP8.*; accepted: VP8, or H264/,
    ],
    ['no video at all', async () => post('r1', { token: await token('r1'), body: OFFER.slice(0, OFFER.indexOf('m=video')) }), 422, /^no video to analyse/],
    ['a room id that is not one', async () => post('a%20room', { token: await token('r1') }), 400, /^bad room id$/],
  ])('%s', async (_what, request, status, reason) => {
    const answer = await request();
    expect(answer.status).toBe(status);
    expect(answer.body).toMatch(reason);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    if (status === 401) expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    await expectBaseline();
  });

  it('refuses other methods with 405 and Allow, unknown sessions with 404, a page of another site with 403', async () => {
    const get = await fetch(`${app.url}/whip/r1`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
    const gone = await fetch(`${app.url}/whip/r1/00000000-0000-4000-8000-000000000000`, { method: 'DELETE', headers: { authorization: `Bearer ${await token('r1')}` } });
    expect(gone.status).toBe(404);
    expect(await gone.text()).toMatch(/no such WHIP session/);
    const foreign = await post('r1', { token: await token('r1'), headers: { origin: 'https://elsewhere.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toBe('origin not allowed');
    await expectBaseline();
  });

  it('refuses a path segment that does not decode with 400, here and on the history route, and stays up', async () => {
    const whip = await post('%E0%A4%A', { token: await token('r1') });
    expect(whip.status).toBe(400);
    expect(whip.body).toBe('bad room id');
    // This one threw out of the request handler, and took the process with it, before both used decodePathSegment.
    expect((await fetch(`${app.url}/rooms/%E0%A4%A/affect`)).status).toBe(400);
    await expectBaseline();
  });

  it('answers a CORS preflight from an allowed origin without a token', async () => {
    const preflight = await fetch(`${app.url}/whip/r1`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(preflight.headers.get('accept-post')).toBe('application/sdp');
  });
});

describe('WHIP sessions', () => {
  it('answer 201; DELETE with another identity is 403, with its own 200', async () => {
    const mine = await token('r1', {}, 'owner');
    const created = await post('r1', { token: mine });
    expect(created.status, created.body).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/sdp');
    const resource = `${app.url}${created.headers.get('location')}`;
    const other = await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${await token('r1', {}, 'intruder')}` } });
    expect(other.status).toBe(403);
    const patchStale = await fetch(resource, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${mine}`, 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '"stale"' },
      body: 'a=end-of-candidates\r\n',
    });
    expect(patchStale.status).toBe(412);
    const patchUnconditional = await fetch(resource, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${mine}`, 'content-type': 'application/trickle-ice-sdpfrag' },
      body: 'a=end-of-candidates\r\n',
    });
    expect(patchUnconditional.status).toBe(428);
    const patchJson = await fetch(resource, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${mine}`, 'content-type': 'application/json', 'if-match': created.headers.get('etag')! },
      body: '{}',
    });
    expect(patchJson.status).toBe(415);
    expect(await patchJson.text()).toMatch(/application\/trickle-ice-sdpfrag/);
    const deleted = await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${mine}` } });
    expect(deleted.status).toBe(200);
    await expectBaseline();
  });

  it('end when no media comes (WHIP_NO_MEDIA_TIMEOUT_MS)', async () => {
    const created = await post('r1', { token: await token('r1') });
    expect(created.status, created.body).toBe(201);
    expect((await counts()).whipSessions).toBe(1);
    await expectBaseline();
  });

  it('are one per identity and room: a second POST replaces the first', async () => {
    const first = await post('r1', { token: await token('r1', {}, 'same') });
    const second = await post('r1', { token: await token('r1', {}, 'same') });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(app.whip.get(first.headers.get('location')!.split('/').at(-1)!)).toBeUndefined();
    expect(app.rooms.get('r1')?.peers.size).toBe(1);
    await expectBaseline();
  });

  it('count against MAX_PEERS_PER_ROOM: a full room is refused with 429 and the reason', async () => {
    const answers = [];
    for (let i = 0; i <= MAX_PEERS; i++) answers.push(await post('full', { token: await token('full') }));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 429]);
    expect(answers[3]!.body).toBe(`room full is full (${MAX_PEERS} peers)`);
    expect(answers[3]!.headers.get('retry-after')).toBe('10');
    await expectBaseline();
  });

  it('hold at MAX_WHIP_SESSIONS under 50 concurrent POSTs: the rest 429 with the reason, then all gone', async () => {
    // Rooms of their own, so that the session limit, not the room's, is what refuses them.
    const answers = await Promise.all(Array.from({ length: 50 }, async (_, i) => post(`many-${i}`, { token: await token(`many-${i}`) })));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(MAX_SESSIONS);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50 - MAX_SESSIONS);
    for (const refused of answers.filter((a) => a.status === 429)) {
      expect(refused.body).toBe(`the server holds its limit of ${MAX_SESSIONS} WHIP sessions`);
    }
    expect((await counts()).whipSessions).toBe(MAX_SESSIONS);
    await expectBaseline();
  });

  it('end at shutdown, and none is taken after it began', async () => {
    const created = await post('r1', { token: await token('r1') });
    expect(created.status).toBe(201);
    await app.drain();
    const late = await post('r1', { token: await token('r1') });
    expect(late.status).toBe(503);
    expect(late.body).toMatch(/shutting down/);
    expect(late.headers.get('retry-after')).toBe('5');
    app.whip.closeAll();
    expect(app.whip.size).toBe(0);
    await expectBaseline();
  });
});
