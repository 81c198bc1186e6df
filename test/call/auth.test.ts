import { SignJWT } from 'jose';
import type { BrowserContext } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import { AFFECT_EVENT } from '../../protocol/affect-subscriber.ts';
import type { Ack } from '../../protocol/signaling.ts';
import type { Grants } from '../../protocol/tokens.ts';
import type { App } from '../../server/src/app.ts';
import { tokenKey } from '../../server/src/auth/tokens.ts';
import { syntheticAffectEvent } from '../helpers/affectEvent.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { startTestServer } from '../helpers/server.ts';

const SECRET = 'test-token-secret-0123456789abcdef';
const ALL: Grants = { join: true, publish: true, subscribeAffect: true, analysed: true };
/** Video RTP parameters a client may send: a producer needs no media, nor even a connected transport. */
const vp8 = (ssrc: number) => ({ mid: String(ssrc), codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc }] });

let app: App;
const sockets: Socket[] = [];

/** A call socket that resolves once connected, or rejects with the server's refusal. */
function connect(token?: string): Promise<Socket> {
  const socket = io(app.url, { transports: ['websocket'], reconnection: false, ...(token === undefined ? {} : { auth: { token } }) });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

async function ask(socket: Socket, event: string, payload: unknown = {}): Promise<Ack<Record<string, unknown>>> {
  return (await socket.timeout(5000).emitWithAck(event, payload)) as Ack<Record<string, unknown>>;
}

const codeOf = async (socket: Socket, event: string, payload?: unknown) => {
  const ack = await ask(socket, event, payload);
  return ack.ok ? 'OK' : ack.error.code;
};

function token(room: string, grants: Partial<Grants> = ALL, identity = 'someone'): Promise<string> {
  return app.participantToken({ sub: identity, room, name: `Name of ${identity}`, grants: { ...ALL, ...grants } }, 60);
}

let identities = 0;

/** Joins `room` with a token granting `grants` (an identity of its own); returns the socket. */
async function joinWith(room: string, grants: Partial<Grants> = ALL, identity = `someone-${++identities}`): Promise<Socket> {
  const socket = await connect(await token(room, grants, identity));
  const joined = await ask(socket, 'join', { roomId: room });
  if (!joined.ok) throw new Error(joined.error.message);
  return socket;
}

async function produce(socket: Socket, kind: 'audio' | 'video', rtpParameters: unknown): Promise<Ack<Record<string, unknown>>> {
  const transport = await ask(socket, 'createTransport', { direction: 'send' });
  if (!transport.ok) throw new Error(transport.error.message);
  return ask(socket, 'produce', { transportId: transport.data.id, kind, rtpParameters });
}

beforeAll(async () => {
  app = await startTestServer({ CALL_AUTH: 'token', TOKEN_SECRET: SECRET, ANALYSIS_ENABLED: 'false', MAX_SUBSCRIBERS_PER_TOKEN: '2' });
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await app?.close();
});

describe('join authorisation (CALL_AUTH=token)', () => {
  it('refuses a connection without a participant token, or with a subscriber token', async () => {
    await expect(connect()).rejects.toThrow('unauthorized: no token');
    await expect(connect(await app.subscriberToken({ room: 'a' }))).rejects.toThrow('unauthorized: wrong kind of token');
    expect(app.rooms.size).toBe(0);
  });

  it('admits a token made with jose to its room only, under the name it carries', async () => {
    const jwt = await new SignJWT({ room: 'room-a', name: 'Alice', grants: { join: true } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setAudience('call')
      .setExpirationTime('1m')
      .sign(tokenKey(SECRET));
    const socket = await connect(jwt);
    expect(await codeOf(socket, 'join', { roomId: 'room-b', displayName: 'Alice' })).toBe('FORBIDDEN');
    // The refused join left no room behind.
    expect(app.rooms.get('room-b')).toBeUndefined();
    const joined = await ask(socket, 'join', { roomId: 'room-a', displayName: 'Mallory' });
    expect(joined.ok && joined.data).toMatchObject({
      roomId: 'room-a',
      displayName: 'Alice',
      grants: { join: true, publish: false, subscribeAffect: false, analysed: false },
    });
    expect([...app.rooms.get('room-a')!.peers.values()].map((p) => p.displayName)).toEqual(['Alice']);
    socket.close();
  });

  it('answers FORBIDDEN for what the token does not grant, and serves what it does', async () => {
    const noJoin = await connect(await token('room-f', { join: false }));
    expect(await codeOf(noJoin, 'join', { roomId: 'room-f' })).toBe('FORBIDDEN');

    const viewer = await joinWith('room-f', { publish: false, subscribeAffect: false });
    expect(await codeOf(viewer, 'createTransport', { direction: 'send' })).toBe('FORBIDDEN');
    expect(await codeOf(viewer, 'produce', { transportId: 'x', kind: 'video', rtpParameters: vp8(1) })).toBe('FORBIDDEN');
    expect(await codeOf(viewer, 'affectToken')).toBe('FORBIDDEN');
    expect(await codeOf(viewer, 'createTransport', { direction: 'recv' })).toBe('OK');
    const forbidden = await ask(viewer, 'affectToken');
    expect(!forbidden.ok && forbidden.error.message).toBe('this token does not grant the affect stream');
    viewer.close();
    noJoin.close();
  });

  it('decodes the video of a participant granted analysis, and never of one that is not', async () => {
    const consenting = await joinWith('room-t', { analysed: true });
    const declining = await joinWith('room-t', { analysed: false });
    const untapped = await produce(declining, 'video', vp8(2222));
    const tapped = await produce(consenting, 'video', vp8(1111));
    if (!tapped.ok || !untapped.ok) throw new Error('produce failed');
    // Taps are set up asynchronously: the declining one, asked for first, would be there by now.
    await expect.poll(() => app.taps!.get(String(tapped.data.producerId)), { timeout: 5000 }).toBeDefined();
    expect(app.taps!.get(String(untapped.data.producerId))).toBeUndefined();
    // No RTP has come: no decoder runs for it yet.
    expect(app.taps!.get(String(tapped.data.producerId))!.decoderPid).toBeUndefined();
    consenting.close();
    declining.close();
  });

  it('ends the affect token handed to a participant when it leaves', async () => {
    const participant = await joinWith('room-s');
    const handed = await ask(participant, 'affectToken');
    if (!handed.ok) throw new Error(handed.error.message);
    const affectToken = String(handed.data.token);
    // It grants this room, not another.
    await expect(
      AffectSubscriber.connect({ url: app.url, token: affectToken, subscriptions: [{ roomId: 'room-a' }], socketOptions: { reconnection: false } }),
    ).rejects.toThrow(/FORBIDDEN/);
    const subscriber = await AffectSubscriber.connect({
      url: app.url,
      token: affectToken,
      subscriptions: [{ roomId: 'room-s' }],
      socketOptions: { reconnection: false },
    });
    let reason = '';
    subscriber.socket.on('disconnect', (why) => (reason = why));
    expect(await codeOf(participant, 'leave')).toBe('OK');
    await expect.poll(() => reason, { timeout: 5000 }).toBe('io server disconnect');
    await expect(AffectSubscriber.connect({ url: app.url, token: affectToken, subscriptions: [{ roomId: 'room-s' }] })).rejects.toThrow(
      'unauthorized: the participant this token was issued to has left',
    );
    subscriber.close();
    participant.close();
  });
});

describe('one peer per identity and room', () => {
  it('lets a second join of an identity replace the first, which is told why and leaves', async () => {
    const first = await joinWith('room-twin', ALL, 'twin');
    const told = new Promise<unknown>((resolve) => first.once('roomClosed', resolve));
    const other = await joinWith('room-twin', ALL, 'other');
    const second = await joinWith('room-twin', ALL, 'twin');
    expect(await told).toEqual({ reason: 'replaced' });
    const names = () => [...app.rooms.get('room-twin')!.peers.values()].map((p) => p.displayName).sort();
    expect(names()).toEqual(['Name of other', 'Name of twin']);
    expect(await codeOf(first, 'createTransport', { direction: 'recv' })).toBe('NOT_JOINED');
    expect(await codeOf(second, 'createTransport', { direction: 'recv' })).toBe('OK');
    // The same identity in another room is another peer.
    const elsewhere = await joinWith('room-twin-2', ALL, 'twin');
    expect(names()).toEqual(['Name of other', 'Name of twin']);
    expect(app.rooms.get('room-twin-2')!.peers.size).toBe(1);
    for (const socket of [first, second, other, elsewhere]) socket.close();
  });
});

describe('connection-state recovery', () => {
  /** Options for a client that comes back 500 ms after a drop, within the server's recovery window. */
  const comesBack = { reconnectionDelay: 500, reconnectionDelayMax: 500, randomizationFactor: 0 };

  it('replays nothing to a participant back after a drop: its peer left when it dropped', async () => {
    const socket = io(app.url, { transports: ['websocket'], auth: { token: await token('room-r') }, ...comesBack });
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    expect((await ask(socket, 'join', { roomId: 'room-r' })).ok).toBe(true);
    const received: Array<{ seq: number }> = [];
    socket.on(AFFECT_EVENT, (event: { seq: number }) => received.push(event));
    // An event before the drop: what a returning client asks to be replayed from.
    app.hub.publish(syntheticAffectEvent('room-r', 1));
    await expect.poll(() => received.length).toBe(1);
    socket.io.engine.close(); // a network blip
    await expect.poll(() => app.rooms.get('room-r'), { timeout: 5000 }).toBeUndefined();
    app.hub.publish(syntheticAffectEvent('room-r', 2));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    expect(socket.recovered).toBe(false);
    // An answer comes after anything sent before it on the connection.
    expect(await codeOf(socket, 'leave')).toBe('NOT_JOINED');
    expect(received.map((event) => event.seq)).toEqual([1]);
    socket.close();
  });

  it('replays nothing to a dashboard back after its participant left', async () => {
    const participant = await joinWith('room-d');
    const handed = await ask(participant, 'affectToken');
    if (!handed.ok) throw new Error(handed.error.message);
    const subscriber = await AffectSubscriber.connect({
      url: app.url,
      token: String(handed.data.token),
      subscriptions: [{ roomId: 'room-d' }],
      // Its own connection, as a dashboard page has (not multiplexed with the participant's).
      socketOptions: { ...comesBack, forceNew: true },
    });
    // What reaches the client at all, before socket.io decides whether to show it.
    const packets: string[] = [];
    subscriber.socket.io.on('open', () => subscriber.socket.io.engine.on('packet', ({ data }) => packets.push(String(data))));
    let refused = '';
    subscriber.socket.on('connect_error', (error) => (refused = error.message));
    let received = 0;
    subscriber.onEvent(() => (received += 1));
    app.hub.publish(syntheticAffectEvent('room-d', 1));
    await expect.poll(() => received).toBe(1);
    const connected = app.hub.subscriberCount;
    subscriber.socket.io.engine.close();
    // The server has seen it drop (a session to recover) before the participant leaves.
    await expect.poll(() => app.hub.subscriberCount).toBe(connected - 1);
    expect(await codeOf(participant, 'leave')).toBe('OK');
    app.hub.publish(syntheticAffectEvent('room-d', 2));
    await expect.poll(() => refused, { timeout: 5000 }).toBe('unauthorized: the participant this token was issued to has left');
    expect(packets.some((packet) => packet.startsWith('4'))).toBe(true); // it did see the server's refusal
    expect(packets.filter((packet) => packet.includes(`["${AFFECT_EVENT}"`))).toEqual([]);
    subscriber.close();
    participant.close();
  });
});

describe('subscriber tokens', () => {
  it('hold at most MAX_SUBSCRIBERS_PER_TOKEN connections at once', async () => {
    const subscriberToken = await app.subscriberToken({ room: 'room-cap' });
    const connectWith = (t: string) => AffectSubscriber.connect({ url: app.url, token: t, subscriptions: [], socketOptions: { reconnection: false } });
    const held = await Promise.all([connectWith(subscriberToken), connectWith(subscriberToken)]);
    await expect(connectWith(subscriberToken)).rejects.toThrow('this token already has 2 connections');
    // Another token is not held back by this one.
    const other = await connectWith(await app.subscriberToken({ room: 'room-cap' }, 120));
    held[0]!.close();
    await expect.poll(async () => connectWith(subscriberToken).then((s) => (held.push(s), 'connected'), () => 'refused'), { timeout: 5000 }).toBe('connected');
    for (const subscriber of [...held, other]) subscriber.close();
  });
});

describe('the call page with a participant token', () => {
  let browser: BrowserContext;
  afterAll(() => browser?.close());

  it('joins the token\'s room under the token\'s name, and says why it cannot without one', async () => {
    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(`${app.url}/#token=${await token('room-ui', ALL, 'dana')}`);
    expect(await page.inputValue('#room')).toBe('room-ui');
    expect(await page.isVisible('#name')).toBe(false);
    await page.click('#join');
    await page.waitForSelector('body[data-joined-as]', { timeout: 20_000 });
    const peerId = (await page.getAttribute('body', 'data-joined-as'))!;
    expect(await page.textContent(`[data-peer-id="${peerId}"]`)).toContain('Name of dana (you)');
    expect(app.rooms.get('room-ui')?.peers.get(peerId)?.displayName).toBe('Name of dana');

    const anonymous = await browser.newPage();
    await anonymous.goto(app.url);
    await anonymous.click('#join');
    await expect.poll(() => anonymous.textContent('#status'), { timeout: 20_000 }).toContain('unauthorized: no token');
  });
});
