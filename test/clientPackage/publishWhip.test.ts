import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import type { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import type { App } from '../../server/src/app.ts';
import { signParticipantToken, tokenKey } from '../../server/src/auth/tokens.ts';
import type * as WhipModule from '../../packages/client/src/whip.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { CLUSTER_TOKEN_SECRET, startNode, type TestNode } from '../helpers/cluster.ts';
import { faceVideoY4m } from '../helpers/faceVideo.ts';
import { freePort, startRedis, type TestRedis } from '../helpers/redisServer.ts';
import { subscribeToRoom } from '../helpers/roomSubscriber.ts';
import { startTestServer } from '../helpers/server.ts';
import { serveClientPage, whipClientPage } from '../helpers/whipClient.ts';

declare global {
  interface Window {
    /** The package's `@affect-call/client/whip` module, as the page imported it. */
    affectWhip?: typeof WhipModule;
    camera?: MediaStream;
    publication?: WhipModule.WhipPublication;
    states?: string[];
  }
}

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL('../../packages/client/', import.meta.url));
const ROOM = 'whip-helper';
const SECRET = 'test-token-secret-0123456789abcdef';

let app: App;
let browser: BrowserContext;
let page: Page;
let subscriber: AffectSubscriber;
let clientPage: Awaited<ReturnType<typeof serveClientPage>>;
/** Takes connections and never answers: a WHIP server that hangs. */
let silent: Server;
let silentUrl: string;
const events: AffectStreamEvent[] = [];

const token = (grants: { publish: boolean; analysed: boolean }, room = ROOM) =>
  app.participantToken({ sub: 'helper-camera', room, name: 'Helper camera', grants: { join: true, subscribeAffect: false, ...grants } }, 300);
const health = async () => (await (await fetch(`${app.url}/healthz`)).json()) as Record<string, number>;
const sessionAt = (resource: string) => app.whip.get(resource.split('/').at(-1)!);

/** What the page's publishWhip threw: the WhipError's fields, or the name and message of anything else. */
interface Thrown {
  name: string;
  message: string;
  whipError: boolean;
  code?: string;
  status?: number;
  reason?: string;
  cameraLive: boolean;
}

/** publishWhip in the page with the camera; resolves with the publication's resource and state, or what it threw. */
function publishInPage(
  options: { endpoint: string; token?: string; analysis?: 'on' | 'off'; timeoutMs?: number; abortAfterMs?: number },
): Promise<{ resource: string; etag: string | undefined; state: string } | Thrown> {
  return page.evaluate(async ({ abortAfterMs, ...options }) => {
    const { publishWhip, WhipError } = window.affectWhip!;
    window.camera ??= await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
    window.states = [];
    const controller = new AbortController();
    if (abortAfterMs !== undefined) setTimeout(() => controller.abort(new Error('the user left')), abortAfterMs);
    try {
      const publication = await publishWhip({ ...options, stream: window.camera, signal: controller.signal, onStateChange: (state) => window.states!.push(state) });
      window.publication = publication;
      return { resource: publication.resource, etag: publication.etag, state: publication.state };
    } catch (error) {
      const e = error as InstanceType<typeof WhipError>;
      return {
        name: e.name,
        message: e.message,
        whipError: e instanceof WhipError,
        ...(e instanceof WhipError && { code: e.code, status: e.status, reason: e.reason }),
        cameraLive: window.camera.getVideoTracks()[0]!.readyState === 'live',
      };
    }
  }, options);
}

function published(result: Awaited<ReturnType<typeof publishInPage>>): { resource: string; etag: string | undefined; state: string } {
  if ('resource' in result) return result;
  throw new Error(`publishWhip threw ${result.name}: ${result.message}`);
}

function thrown(result: Awaited<ReturnType<typeof publishInPage>>): Thrown {
  if ('whipError' in result) return result;
  throw new Error(`publishWhip published ${result.resource}, where it should have failed`);
}

beforeAll(async () => {
  const faceVideo = await faceVideoY4m();
  // The package as npm pack builds it: the page imports its dist/whip.js, a module without dependencies.
  await run(process.execPath, ['build.mjs'], { cwd: PACKAGE });
  const whipModule = await readFile(`${PACKAGE}dist/whip.js`, 'utf8');
  clientPage = await serveClientPage("window.affectWhip = await import('/whip.js');", { '/whip.js': whipModule });
  browser = await launchBrowser(faceVideo);
  page = await whipClientPage(browser, clientPage.origin);
  await page.waitForFunction(() => window.affectWhip !== undefined);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await clientPage?.close();
});

describe('publishWhip from @affect-call/client/whip, in Chromium, to a real server', () => {
  let resource: string;

  beforeAll(async () => {
    app = await startTestServer({ CALL_AUTH: 'token', TOKEN_SECRET: SECRET, ALLOWED_ORIGINS: clientPage.origin });
    subscriber = await subscribeToRoom(app.url, await app.subscriberToken({ room: ROOM }, 300), ROOM, (event) => void events.push(event));
    silent = createServer(() => undefined).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/whip/${ROOM}`;
  });

  afterAll(async () => {
    subscriber?.close();
    await app?.close();
    silent?.close();
  });

  it('publishes the camera: resolves connected, with the session on the server as its resource, video only', async () => {
    const result = published(await publishInPage({ endpoint: `${app.url}/whip/${ROOM}`, token: await token({ publish: true, analysed: true }), analysis: 'on' }));
    resource = result.resource;
    expect(resource).toMatch(new RegExp(`^${app.url}/whip/${ROOM}/[0-9a-f-]{36}$`));
    expect(result.etag).toMatch(/^"[\w-]+"$/);
    expect(result.state).toBe('connected');
    expect(await page.evaluate(() => window.states)).toEqual(['connecting', 'connected']);
    const session = sessionAt(resource)!;
    expect(session.peer.displayName).toBe('Helper camera');
    expect(session.peer.analysed).toBe(true);
    // The stream has audio too; only its video was asked for.
    expect([...session.peer.producers.values()].map((p) => p.kind)).toEqual(['video']);
  });

  it('is analysed: affect events of its video reach an AffectSubscriber of the room', async () => {
    const session = sessionAt(resource)!;
    const video = [...session.peer.producers.values()][0]!;
    const affectOf = () => events.filter((e) => e.type === 'affect' && e.peerId === session.peer.id);
    await expect.poll(() => affectOf().length, { timeout: 30_000 }).toBeGreaterThanOrEqual(20);
    expect(affectOf().every((e) => e.producerId === video.id && e.roomId === ROOM)).toBe(true);
  });

  it('stop() DELETEs the session: its producer and transport closed, its faces lost, the resource gone', async () => {
    const session = sessionAt(resource)!;
    const producers = [...session.peer.producers.values()];
    const stopped = await page.evaluate(async () => {
      await window.publication!.stop();
      // A second stop() is the same one: no second DELETE, no error.
      await window.publication!.stop();
      return { state: window.publication!.state, last: window.states!.at(-1) };
    });
    expect(stopped).toEqual({ state: 'closed', last: 'closed' });
    // DELETE was answered before stop() resolved, and the session's end is synchronous on the server.
    expect(app.whip.get(session.id)).toBeUndefined();
    expect(session.transport.closed).toBe(true);
    expect(producers.every((p) => p.closed)).toBe(true);
    expect(app.rooms.get(ROOM)?.peers.has(session.peer.id) ?? false).toBe(false);
    await expect.poll(() => events.filter((e) => e.type === 'face-lost' && e.peerId === session.peer.id).length, { timeout: 10_000 }).toBeGreaterThan(0);
    const again = await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${await token({ publish: true, analysed: true })}` } });
    expect(again.status).toBe(404);
    expect(await health()).toMatchObject({ whipSessions: 0, peers: 0, transports: 0, videoProducers: 0 });
  });

  it('sends ?analysis=off: the publisher is in the room, not analysed', async () => {
    const result = published(await publishInPage({ endpoint: `${app.url}/whip/${ROOM}`, token: await token({ publish: true, analysed: true }), analysis: 'off' }));
    expect(sessionAt(result.resource)!.peer.analysed).toBe(false);
    await page.evaluate(() => window.publication!.stop());
    expect((await health()).whipSessions).toBe(0);
  });

  it('rejects a refused publish with a WhipError holding the status and the server reason, leaving nothing behind', async () => {
    const endpoint = `${app.url}/whip/${ROOM}`;
    const cases = [
      { token: 'not-a-token', status: 401, reason: /^unauthorized: .*\(a participant token is expected\)$/ },
      { token: await app.subscriberToken({ room: ROOM }, 300), status: 401, reason: /^unauthorized: / },
      { token: await token({ publish: false, analysed: true }), status: 403, reason: /^this token does not grant sending media$/ },
      { token: await token({ publish: true, analysed: true }, 'another-room'), status: 403, reason: new RegExp(`^this token does not grant room ${ROOM}$`) },
    ];
    for (const { token, status, reason } of cases) {
      const error = thrown(await publishInPage({ endpoint, token }));
      expect(error).toMatchObject({ name: 'WhipError', whipError: true, code: 'refused', status, cameraLive: true });
      expect(error.reason).toMatch(reason);
      expect(error.message).toBe(`WHIP publish to ${endpoint} refused: ${status} ${error.reason}`);
    }
    expect(await page.evaluate(() => window.states)).toEqual(['closed']);
    expect(await health()).toMatchObject({ whipSessions: 0, peers: 0, transports: 0 });
  });

  it('gives up on a server that never answers: timeoutMs rejects with a timeout WhipError, an abort with its reason', async () => {
    const timedOut = thrown(await publishInPage({ endpoint: silentUrl, timeoutMs: 1000 }));
    expect(timedOut).toMatchObject({ whipError: true, code: 'timeout', message: `no WHIP connection to ${new URL(silentUrl).origin} within 1000 ms` });
    const aborted = thrown(await publishInPage({ endpoint: silentUrl, abortAfterMs: 300 }));
    expect(aborted).toMatchObject({ whipError: false, name: 'Error', message: 'the user left', cameraLive: true });
  });

  it('says so when the endpoint cannot be reached (nothing listens there)', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}/whip/${ROOM}`;
    const error = thrown(await publishInPage({ endpoint }));
    expect(error).toMatchObject({ whipError: true, code: 'network' });
    expect(error.message).toMatch(new RegExp(`^the WHIP endpoint ${endpoint} could not be reached \\(.+\\): Failed to fetch$`));
  });
});

describe('publishWhip where the room lives on another node of the service', () => {
  const CLUSTER_ROOM = 'whip-helper-cluster';
  let redis: TestRedis;
  let nodeA: TestNode;
  let nodeB: TestNode;
  const tokenOf = (sub: string) =>
    signParticipantToken({ sub, room: CLUSTER_ROOM, name: sub, grants: { join: true, publish: true, subscribeAffect: false, analysed: false } }, tokenKey(CLUSTER_TOKEN_SECRET), 300);

  beforeAll(async () => {
    redis = await startRedis();
    // Neither node decodes nor analyses: the test is about where the publish goes.
    const env = { REDIS_URL: redis.url, CALL_AUTH: 'token', ALLOWED_ORIGINS: clientPage.origin, TAP_ENABLED: 'false', ANALYSIS_ENABLED: 'false', WHIP_NO_MEDIA_TIMEOUT_MS: '60000' };
    [nodeA, nodeB] = await Promise.all([startNode(env), startNode(env)]);
    // A first publisher (an offer Chromium made, no media) puts the room on node A.
    const first = await fetch(`${nodeA.url}/whip/${CLUSTER_ROOM}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${await tokenOf('first')}` },
      body: await readFile(new URL('../whip/fixtures/chromium-offer.sdp', import.meta.url), 'utf8'),
    });
    expect(first.status, await first.text()).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
    await redis?.kill();
  });

  it("publishes through a node that does not have the room: it forwards the offer, and the session is the room's node's", async () => {
    const result = published(await publishInPage({ endpoint: `${nodeB.url}/whip/${CLUSTER_ROOM}`, token: await tokenOf('helper-camera') }));
    expect(result.resource).toMatch(new RegExp(`^${nodeA.url}/whip/${CLUSTER_ROOM}/[0-9a-f-]{36}$`));
    expect((await nodeA.health()).peers).toBe(2);
    expect((await nodeB.health()).rooms).toBe(0);
    // stop() ends it on node A, cross-origin from the page (node A's ALLOWED_ORIGINS lists it).
    await page.evaluate(() => window.publication!.stop());
    expect((await nodeA.health()).peers).toBe(1);
  });

  it('publishes to the node that has the room', async () => {
    const result = published(await publishInPage({ endpoint: `${nodeA.url}/whip/${CLUSTER_ROOM}`, token: await tokenOf('helper-camera') }));
    expect(result.resource).toMatch(new RegExp(`^${nodeA.url}/whip/${CLUSTER_ROOM}/[0-9a-f-]{36}$`));
    expect((await nodeA.health()).peers).toBe(2);
    await page.evaluate(() => window.publication!.stop());
    expect((await nodeA.health()).peers).toBe(1);
  });
});
