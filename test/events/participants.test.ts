import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import type { ParticipantUpdate } from '../../protocol/affect-subscriber.ts';
import type { Ack } from '../../protocol/signaling.ts';
import type { App } from '../../server/src/app.ts';
import { startTestServer } from '../helpers/server.ts';

let app: App;
const sockets: Socket[] = [];
const subscribers: AffectSubscriber[] = [];

/** A call participant (a plain socket.io client, no media) in `roomId`; resolves with its socket and peer id. */
async function join(roomId: string, displayName: string): Promise<{ socket: Socket; peerId: string }> {
  const socket = io(app.url, { transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
  const ack = (await socket.timeout(5000).emitWithAck('join', { roomId, displayName })) as Ack<{ peerId: string }>;
  if (!ack.ok) throw new Error(ack.error.message);
  return { socket, peerId: ack.data.peerId };
}

/** A subscriber of a room, or of one peer of it, recording every participant message it gets. */
async function subscribe(roomId: string, peerId?: string): Promise<{ subscriber: AffectSubscriber; seen: ParticipantUpdate[] }> {
  const subscriber = await AffectSubscriber.connect({
    url: app.url,
    token: await app.subscriberToken({ room: roomId, ...(peerId === undefined ? {} : { peer: peerId }) }, 60),
    subscriptions: [{ roomId, ...(peerId === undefined ? {} : { peerId }) }],
  });
  subscribers.push(subscriber);
  const seen: ParticipantUpdate[] = [];
  subscriber.onParticipant((p) => seen.push(p));
  return { subscriber, seen };
}

const names = (subscriber: AffectSubscriber) => subscriber.participants.map((p) => p.displayName).sort();

beforeAll(async () => {
  app = await startTestServer({ ANALYSIS_ENABLED: 'false', TAP_ENABLED: 'false' });
});

afterAll(async () => {
  for (const subscriber of subscribers) subscriber.close();
  for (const socket of sockets) socket.close();
  await app?.close();
});

describe('participant messages on /affect', () => {
  it('name the participants a subscription covers, and no one else', async () => {
    const ada = await join('room-a', 'Ada');
    await join('room-a', 'Grace');
    await join('room-b', 'Mallory');
    const room = await subscribe('room-a');
    const one = await subscribe('room-a', ada.peerId);
    const other = await subscribe('room-b');
    // What is there at subscription time: known by the time subscribe resolved.
    expect(names(room.subscriber)).toEqual(['Ada', 'Grace']);
    expect(one.subscriber.participants).toEqual([{ roomId: 'room-a', peerId: ada.peerId, displayName: 'Ada', analysed: true, present: true }]);
    expect(names(other.subscriber)).toEqual(['Mallory']);

    // Changes reach the subscribers they concern: a join of room A (not the one-peer subscriber), Ada's
    // opt-out (both of room A's), a leave of room B (only room B's).
    const linus = await join('room-a', 'Linus');
    await expect.poll(() => names(room.subscriber)).toEqual(['Ada', 'Grace', 'Linus']);
    expect((await ada.socket.timeout(5000).emitWithAck('setAnalysis', { analysed: false })) as Ack<unknown>).toMatchObject({ ok: true });
    await expect.poll(() => one.subscriber.participants[0]?.analysed).toBe(false);
    await expect.poll(() => room.subscriber.participants.find((p) => p.peerId === ada.peerId)?.analysed).toBe(false);
    linus.socket.close();
    await expect.poll(() => names(room.subscriber)).toEqual(['Ada', 'Grace']);
    expect(room.seen.at(-1)).toMatchObject({ peerId: linus.peerId, displayName: 'Linus', present: false });

    expect(one.seen.map((p) => p.peerId)).toEqual([ada.peerId, ada.peerId]);
    expect(other.seen.map((p) => p.displayName)).toEqual(['Mallory']);
  });
});
