import type { BrowserContext, Page } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import type { Ack } from '../../protocol/signaling.ts';
import type { Grants } from '../../protocol/tokens.ts';
import type { App } from '../../server/src/app.ts';
import { joinCall, launchBrowser } from '../helpers/browser.ts';
import { faceVideoY4m } from '../helpers/faceVideo.ts';
import { subscribeToRoom } from '../helpers/roomSubscriber.ts';
import { startTestServer } from '../helpers/server.ts';
import { artifactPath } from './artifacts.ts';

const ROOM = 'consent';

describe('consent to analysis, in the call page', { timeout: 120_000 }, () => {
  let app: App;
  const browsers: BrowserContext[] = [];
  let ada: Page;
  let grace: Page;
  let adaId: string;
  let graceId: string;
  let subscriber: AffectSubscriber;
  /** Every event the subscriber got, with the time it got it. */
  const received: { at: number; event: AffectStreamEvent }[] = [];
  const affectOf = (peerId: string, after = 0) => received.filter((r) => r.event.peerId === peerId && r.event.type === 'affect' && r.at > after);

  beforeAll(async () => {
    const faceVideo = await faceVideoY4m();
    app = await startTestServer();
    subscriber = await subscribeToRoom(app.url, await app.subscriberToken({ room: ROOM }, 300), ROOM, (event) =>
      received.push({ at: Date.now(), event }),
    );
    const page = async (name: string) => {
      const browser = await launchBrowser(faceVideo);
      browsers.push(browser);
      const p = await browser.newPage();
      await p.setViewportSize({ width: 1000, height: 700 });
      return { page: p, id: await joinCall(p, app.url, ROOM, name) };
    };
    ({ page: ada, id: adaId } = await page('Ada Lovelace'));
    ({ page: grace, id: graceId } = await page('Grace Hopper'));
  });

  afterAll(async () => {
    subscriber?.close();
    for (const browser of browsers) await browser.close();
    await app?.close();
  });

  it('analyses both by default, and says so on every tile and to the subscriber, with names', async () => {
    await expect.poll(() => affectOf(adaId).length, { timeout: 20_000 }).toBeGreaterThan(0);
    await expect.poll(() => affectOf(graceId).length, { timeout: 20_000 }).toBeGreaterThan(0);
    for (const [page, id] of [[ada, adaId], [ada, graceId], [grace, adaId], [grace, graceId]] as const) {
      await expect.poll(() => page.getAttribute(`[data-peer-id="${id}"]`, 'data-analysed')).toBe('true');
    }
    expect(await ada.getAttribute('#analysis', 'aria-pressed')).toBe('true');
    expect(await grace.textContent(`[data-peer-id="${adaId}"] figcaption`)).toBe('Ada Lovelace');
    expect(await ada.textContent(`[data-peer-id="${adaId}"] figcaption`)).toBe('Ada Lovelace (you)');
    const names = Object.fromEntries(subscriber.participants.map((p) => [p.peerId, [p.displayName, p.analysed]]));
    expect(names).toEqual({ [adaId]: ['Ada Lovelace', true], [graceId]: ['Grace Hopper', true] });
  });

  it('stops analysing a participant who opts out: no events within 1 s, decoder gone, the others told', async () => {
    const button = ada.locator('#analysis');
    await button.focus();
    // Ada is being analysed right up to it: an event of hers in the last 300 ms.
    await expect.poll(() => affectOf(adaId, Date.now() - 300).length, { timeout: 20_000, interval: 20 }).toBeGreaterThan(0);
    const pressed = Date.now();
    let optedOut = Number.POSITIVE_INFINITY;
    app.rooms.get(ROOM)!.once('analysisChanged', () => (optedOut = Date.now()));
    await ada.keyboard.press('Enter');
    await expect.poll(() => button.getAttribute('aria-pressed')).toBe('false');
    console.log(`opt-out reached the server ${optedOut - pressed} ms after the key press`);
    // The server closed Ada's tap (its ffmpeg with it) by the time it answered.
    expect([...app.taps!.values()].filter((tap) => tap.ids.peerId === adaId)).toHaveLength(0);
    expect(app.rooms.get(ROOM)!.peers.get(adaId)!.analysed).toBe(false);
    // Grace's page shows it on Ada's tile, and the subscriber's participant list has it.
    await expect.poll(() => grace.getAttribute(`[data-peer-id="${adaId}"]`, 'data-analysed')).toBe('false');
    expect(await grace.textContent(`[data-peer-id="${adaId}"] .analysis`)).toBe('Not analysed');
    await expect.poll(() => subscriber.participants.find((p) => p.peerId === adaId)?.analysed).toBe(false);
    // Grace goes on being analysed: 45 more of her events (3 s at 15 a second) and none of Ada's after the first second.
    const graceBefore = affectOf(graceId).length;
    await expect.poll(() => affectOf(graceId).length, { timeout: 20_000 }).toBeGreaterThanOrEqual(graceBefore + 45);
    const lateAda = received.filter((r) => r.event.peerId === adaId && r.at > optedOut + 1000);
    const lastAda = affectOf(adaId).at(-1)!;
    console.log(`Ada's last affect event ${lastAda.at - optedOut} ms after the opt-out; events of Ada later than 1 s: ${lateAda.length}`);
    expect(lateAda).toHaveLength(0);
    // Her own tile empties: no face overlay without events.
    await expect.poll(() => ada.textContent(`[data-peer-id="${adaId}"] .affect-labels`), { timeout: 5000 }).toBe('No face');
    await grace.screenshot({ path: await artifactPath('consent-opted-out.png') });
  });

  it('analyses again after opting back in', async () => {
    const optedIn = Date.now();
    await ada.click('#analysis');
    await expect.poll(() => ada.getAttribute('#analysis', 'aria-pressed')).toBe('true');
    await expect.poll(() => affectOf(adaId, optedIn).length, { timeout: 20_000 }).toBeGreaterThan(0);
    await expect.poll(() => grace.getAttribute(`[data-peer-id="${adaId}"]`, 'data-analysed')).toBe('true');
    await expect.poll(() => subscriber.participants.find((p) => p.peerId === adaId)?.analysed).toBe(true);
  });
});

describe('consent within the token\'s grant', () => {
  const SECRET = 'consent-test-secret-0123456789abcdef';
  const ALL: Grants = { join: true, publish: true, subscribeAffect: true, analysed: true };
  let app: App;
  const sockets: Socket[] = [];

  async function join(grants: Partial<Grants>, identity: string): Promise<{ socket: Socket; analysed: unknown }> {
    const token = await app.participantToken({ sub: identity, room: 'grant', grants: { ...ALL, ...grants } }, 60);
    const socket = io(app.url, { transports: ['websocket'], reconnection: false, auth: { token } });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
    const ack = (await socket.timeout(5000).emitWithAck('join', { roomId: 'grant' })) as Ack<{ analysed: boolean }>;
    if (!ack.ok) throw new Error(ack.error.message);
    return { socket, analysed: ack.data.analysed };
  }
  const setAnalysis = async (socket: Socket, analysed: unknown) =>
    (await socket.timeout(5000).emitWithAck('setAnalysis', { analysed })) as Ack<{ analysed: boolean }>;

  beforeAll(async () => {
    app = await startTestServer({ CALL_AUTH: 'token', TOKEN_SECRET: SECRET, ANALYSIS_DEFAULT: 'off', ANALYSIS_ENABLED: 'false' });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await app?.close();
  });

  it('starts nobody analysed under ANALYSIS_DEFAULT=off; a granted participant opts in, the room is told', async () => {
    const { socket: alice, analysed } = await join({}, 'alice');
    expect(analysed).toBe(false);
    const { socket: bob } = await join({}, 'bob');
    const told = new Promise((resolve) => bob.once('analysisChanged', resolve));
    expect(await setAnalysis(alice, true)).toEqual({ ok: true, data: { analysed: true } });
    expect(await told).toEqual({ peerId: [...app.rooms.get('grant')!.peers.values()][0]!.id, analysed: true });
    expect(await setAnalysis(alice, false)).toEqual({ ok: true, data: { analysed: false } });
    // Opting out is never refused; opting in (which starts a decoder) at most once a second.
    const again = await setAnalysis(alice, true);
    expect(again.ok ? 'OK' : again.error).toEqual({ code: 'RATE_LIMITED', message: 'analysis can be turned on at most once every 1 s' });
    await expect.poll(async () => (await setAnalysis(alice, true)).ok, { timeout: 3000, interval: 200 }).toBe(true);
  });

  it('never analyses a participant whose token does not grant it', async () => {
    const { socket, analysed } = await join({ analysed: false }, 'carol');
    expect(analysed).toBe(false);
    const ack = await setAnalysis(socket, true);
    expect(ack.ok ? 'OK' : ack.error).toEqual({ code: 'FORBIDDEN', message: 'this token does not grant analysis of your video' });
    expect(await setAnalysis(socket, false)).toEqual({ ok: true, data: { analysed: false } });
    const bad = await setAnalysis(socket, 'yes');
    expect(bad.ok ? 'OK' : bad.error.code).toBe('INVALID_REQUEST');
  });
});
