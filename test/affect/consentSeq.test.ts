import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faceVideoVp8, replayIntoRoom, type ReplayedStream } from '../../bench/lib/rtpReplay.ts';
import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import type { App } from '../../server/src/app.ts';
import { subscribeToRoom } from '../helpers/roomSubscriber.ts';
import { startTestServer } from '../helpers/server.ts';

const ROOM = 'consent-seq';
let app: App;
let replay: ReplayedStream;

beforeAll(async () => {
  app = await startTestServer({ VISION_WORKERS: '1' });
  replay = await replayIntoRoom(app, ROOM, await faceVideoVp8(), 5151);
});

afterAll(async () => {
  replay?.stop();
  await app?.close();
});

describe('sequence numbers over an opt-out and back in', () => {
  it('number on where they stopped: no restart at 0, no jump', async () => {
    const events: AffectStreamEvent[] = [];
    const subscriber = await subscribeToRoom(app.url, await app.subscriberToken({ room: ROOM }, 60), ROOM, (event) => events.push(event));
    const peer = [...app.rooms.get(ROOM)!.peers.values()].find((p) => p.producers.has(replay.producerId))!;
    await expect.poll(() => events.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(10);
    peer.setAnalysed(false);
    // Its stream's analysis ends with a face-lost for the face it had.
    await expect.poll(() => events.some((e) => e.type === 'face-lost'), { timeout: 10_000 }).toBe(true);
    const beforeOptIn = events.length;
    peer.setAnalysed(true);
    await expect.poll(() => events.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(beforeOptIn + 10);
    subscriber.close();
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    expect(subscriber.gaps).toBe(0);
  });
});
