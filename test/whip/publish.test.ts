import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import type { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import type { App } from '../../server/src/app.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { faceVideoY4m } from '../helpers/faceVideo.ts';
import { subscribeToRoom } from '../helpers/roomSubscriber.ts';
import { metricValue, startTestServer } from '../helpers/server.ts';
import { connected, hangUp, publish, restartIce, serveClientPage, unpublish, whipClientPage, type Published } from '../helpers/whipClient.ts';

const ROOM = 'whip';
const SECRET = 'test-token-secret-0123456789abcdef';

let app: App;
let browser: BrowserContext;
let publisher: Page;
let subscriber: AffectSubscriber;
/** Every event of the room, with when it reached the subscriber. */
const events: { event: AffectStreamEvent; receivedAt: number }[] = [];
let published: Published;
let clientPage: Awaited<ReturnType<typeof serveClientPage>>;

const publisherToken = () =>
  app.participantToken({ sub: 'studio', room: ROOM, name: 'Studio camera', grants: { join: true, publish: true, subscribeAffect: false, analysed: true } }, 300);
const eventsOf = (peerId: string, type: AffectStreamEvent['type']) => events.filter(({ event }) => event.peerId === peerId && event.type === type);
const sessionOf = (result: Published) => app.whip.get(result.location!.split('/').at(-1)!);
const health = async () => (await (await fetch(`${app.url}/healthz`)).json()) as Record<string, number>;
const whipGauge = async () => metricValue(await app.metrics.registry.metrics(), 'ingest_sessions', '{kind="whip"}');

beforeAll(async () => {
  const faceVideo = await faceVideoY4m();
  // The WHIP client's page is of another origin than the server, allowed by ALLOWED_ORIGINS: CORS for real.
  clientPage = await serveClientPage();
  app = await startTestServer({ CALL_AUTH: 'token', TOKEN_SECRET: SECRET, ALLOWED_ORIGINS: clientPage.origin });
  subscriber = await subscribeToRoom(app.url, await app.subscriberToken({ room: ROOM }, 300), ROOM, (event) => void events.push({ event, receivedAt: Date.now() }));
  browser = await launchBrowser(faceVideo);
  publisher = await whipClientPage(browser, clientPage.origin);
});

afterAll(async () => {
  subscriber?.close();
  await browser?.close();
  await app?.close();
  await clientPage?.close();
});

describe('a WHIP publisher (Chromium)', () => {
  it('is answered 201 with an SDP answer, Location and ETag, across origins, and joins the room as the token says', async () => {
    published = await publish(publisher, `${app.url}/whip/${ROOM}`, await publisherToken());
    expect(published.status, published.body).toBe(201);
    expect(published.location).toMatch(new RegExp(`^/whip/${ROOM}/[0-9a-f-]{36}$`));
    expect(published.etag).toMatch(/^"[\w-]+"$/);
    expect(published.body).toMatch(/^v=0\r\n/);
    await connected(publisher);
    const session = sessionOf(published)!;
    expect(session.peer.displayName).toBe('Studio camera');
    expect(session.peer.analysed).toBe(true);
    expect([...session.peer.producers.values()].map((p) => p.kind).sort()).toEqual(['audio', 'video']);
    expect((await health()).whipSessions).toBe(1);
    expect(await whipGauge()).toBe(1);
  });

  it('is analysed like a call page camera: affect events of its video reach /affect', async () => {
    const session = sessionOf(published)!;
    const video = [...session.peer.producers.values()].find((p) => p.kind === 'video')!;
    await expect.poll(() => eventsOf(session.peer.id, 'affect').length, { timeout: 30_000 }).toBeGreaterThanOrEqual(20);
    const affect = eventsOf(session.peer.id, 'affect');
    expect(affect.every(({ event }) => event.producerId === video.id && event.roomId === ROOM)).toBe(true);
    console.log(`first affect event ${affect[0]!.receivedAt - published.answeredAt} ms after the 201 (the bench measures it: npm run bench:whip)`);
  });

  it("shows on a call page's gallery with its name and its overlay", async () => {
    const session = sessionOf(published)!;
    const viewer = await browser.newPage();
    try {
      const token = await app.participantToken(
        { sub: 'viewer', room: ROOM, name: 'Viewer', grants: { join: true, publish: true, subscribeAffect: true, analysed: false } },
        300,
      );
      await viewer.goto(`${app.url}/#token=${token}`);
      await viewer.click('#join');
      await viewer.waitForSelector('body[data-joined-as]', { timeout: 20_000 });
      const tile = viewer.locator(`[data-peer-id="${session.peer.id}"]`);
      await expect.poll(() => tile.locator('figcaption').textContent(), { timeout: 20_000 }).toContain('Studio camera');
      await expect.poll(() => tile.locator('.affect-labels').textContent(), { timeout: 30_000 }).toMatch(/^Face 1: /);
    } finally {
      await viewer.close();
    }
  });

  it('takes trickled candidates (204) and restarts ICE on new credentials (200, new ETag), media still flowing', async () => {
    const session = sessionOf(published)!;
    const trickle = await publisher.evaluate(async () => {
      const whip = window.whip!;
      const response = await fetch(whip.resource, {
        method: 'PATCH',
        headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': whip.etag, authorization: `Bearer ${whip.token}` },
        body: 'm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\na=candidate:1 1 udp 2122194687 192.0.2.2 57453 typ host\r\n',
      });
      return response.status;
    });
    expect(trickle).toBe(204);
    const before = published.etag;
    const restart = await restartIce(publisher);
    expect(restart.status).toBe(200);
    expect(restart.etag).toMatch(/^"[\w-]+"$/);
    expect(restart.etag).not.toBe(before);
    expect(session.etag).toBe(restart.etag);
    await connected(publisher);
    const count = eventsOf(session.peer.id, 'affect').length;
    await expect.poll(() => eventsOf(session.peer.id, 'affect').length, { timeout: 20_000 }).toBeGreaterThan(count + 10);
  });

  it('ends on DELETE: its faces are lost, its producers and transport closed, the counts back to none', async () => {
    const session = sessionOf(published)!;
    const producers = [...session.peer.producers.values()];
    expect(await unpublish(publisher)).toBe(200);
    expect(session.transport.closed).toBe(true);
    expect(producers.every((p) => p.closed)).toBe(true);
    expect(app.rooms.get(ROOM)?.peers.has(session.peer.id) ?? false).toBe(false);
    await expect.poll(() => eventsOf(session.peer.id, 'face-lost').length, { timeout: 10_000 }).toBeGreaterThan(0);
    const state = await health();
    expect(state).toMatchObject({ whipSessions: 0, peers: 0, transports: 0, videoProducers: 0, audioProducers: 0 });
    expect(await whipGauge()).toBe(0);
    expect(app.taps?.size).toBe(0);
  });

  it('ends when the client goes away without DELETE (its DTLS closes)', async () => {
    const again = await publish(publisher, `${app.url}/whip/${ROOM}`, await publisherToken(), false);
    expect(again.status, again.body).toBe(201);
    await connected(publisher);
    const session = sessionOf(again)!;
    await hangUp(publisher);
    await expect.poll(() => app.whip.get(session.id), { timeout: 20_000 }).toBeUndefined();
    expect(session.transport.closed).toBe(true);
    expect((await health()).whipSessions).toBe(0);
  });

  it('is analysed as well when it sends constrained-baseline H.264', async () => {
    const h264 = await publish(publisher, `${app.url}/whip/${ROOM}`, await publisherToken(), false, 'H264');
    expect(h264.status, h264.body).toBe(201);
    expect(h264.body).toMatch(/a=rtpmap:\d+ H264\/90000/);
    const session = sessionOf(h264)!;
    const video = [...session.peer.producers.values()].find((p) => p.kind === 'video')!;
    expect(video.rtpParameters.codecs[0]!.mimeType).toBe('video/H264');
    await expect.poll(() => eventsOf(session.peer.id, 'affect').length, { timeout: 30_000 }).toBeGreaterThanOrEqual(10);
    expect(await unpublish(publisher)).toBe(200);
  });
});
