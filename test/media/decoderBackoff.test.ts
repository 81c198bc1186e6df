import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainVideoProducer } from '../../bench/lib/rtpReplay.ts';
import type { App } from '../../server/src/app.ts';
import { restartDelayMs } from '../../server/src/media/FrameTap.ts';
import { startTestServer } from '../helpers/server.ts';

const BASE_DELAY_MS = 400;
const FIRST_FRAME_TIMEOUT_MS = 500;
let app: App;

beforeAll(async () => {
  app = await startTestServer({
    ANALYSIS_ENABLED: 'false',
    TAP_RESTART_DELAY_MS: String(BASE_DELAY_MS),
    TAP_FIRST_FRAME_TIMEOUT_MS: String(FIRST_FRAME_TIMEOUT_MS),
  });
});

afterAll(async () => {
  await app?.close();
});

/**
 * RTP with the producer's payload type and SSRC, carrying random bytes no decoder makes a frame of, from one
 * socket (the PlainTransport keeps to the first sender's address): paused and resumed like a muted camera.
 */
function sendGarbage(port: number, ssrc: number) {
  const socket = dgram.createSocket('udp4');
  let seq = 0;
  let paused = false;
  const timer = setInterval(() => {
    if (paused) return;
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = 0x80 | 101;
    header.writeUInt16BE(seq & 0xffff, 2);
    header.writeUInt32BE((seq * 3000) >>> 0, 4);
    header.writeUInt32BE(ssrc, 8);
    seq += 1;
    socket.send(Buffer.concat([header, randomBytes(400)]), port, '127.0.0.1');
  }, 20);
  return {
    pause: () => (paused = true),
    resume: () => (paused = false),
    stop() {
      clearInterval(timer);
      socket.close();
    },
  };
}

describe('decoder restarts', () => {
  it('double the pause after each decoder in a row that gave no frame, up to a minute', () => {
    expect([0, 1, 2, 3, 4].map((failures) => restartDelayMs(250, failures))).toEqual([250, 250, 500, 1000, 2000]);
    expect(restartDelayMs(250, 40)).toBe(60_000);
  });

  it('back off for a stream that never decodes, and wait for media again once it stops', async () => {
    const producer = await plainVideoProducer(app, 'garbage', 7777);
    const garbage = sendGarbage(producer.port, 7777);
    try {
      const starts: number[] = [];
      let lastPid: number | undefined;
      const watch = setInterval(() => {
        const pid = app.taps!.get(producer.producerId)?.decoderPid;
        if (pid !== undefined && pid !== lastPid) starts.push(Date.now());
        lastPid = pid;
      }, 10);
      await expect.poll(() => starts.length, { timeout: 15_000, interval: 50 }).toBeGreaterThanOrEqual(4);
      clearInterval(watch);
      const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
      // Each gap is the first-frame timeout plus a pause of 400, 800, 1600 ms (plus ffmpeg's start-up).
      expect(gaps[2]! - gaps[0]!).toBeGreaterThan(BASE_DELAY_MS * 2);

      garbage.pause();
      // With nothing arriving, the failed decoder is not replaced once its pause is over...
      const tap = app.taps!.get(producer.producerId)!;
      await expect.poll(() => tap.decoderState, { timeout: 15_000, interval: 50 }).toBe('awaiting-media');
      expect(tap.decoderPid).toBeUndefined();
      // ...until media flows again.
      const resumed = Date.now();
      garbage.resume();
      await expect.poll(() => app.taps!.get(producer.producerId)?.decoderPid, { timeout: 10_000, interval: 20 }).toBeDefined();
      expect(Date.now() - resumed).toBeLessThan(BASE_DELAY_MS * 4); // in fact ffmpeg's start-up: no pause
    } finally {
      garbage.stop();
      producer.close();
    }
  });
});
