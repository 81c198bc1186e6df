import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.ts';
import { VideoDecoder } from '../../server/src/offline/decodeVideo.ts';
import { SharedFramePool } from '../../server/src/offline/SharedFramePool.ts';
import { startVision } from '../../server/src/offline/startVision.ts';
import { regionAround } from '../../server/src/pipeline/regionTracking.ts';
import type { VisionWorkers } from '../../server/src/vision/VisionWorkers.ts';
import { faceVideoMp4 } from './media.ts';

const config = loadConfig({});
const bytes = 640 * 480 * 3;

describe('SharedFramePool', () => {
  it('hands out whole frames in shared memory and reuses a buffer given back, once', () => {
    const pool = new SharedFramePool(bytes);
    const a = pool.take();
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a.byteLength).toBe(bytes);
    const b = pool.take();
    expect(b.buffer).not.toBe(a.buffer);
    pool.give(a);
    pool.give(a);
    expect(pool.take()).toBe(a);
    expect(pool.take()).not.toBe(a);
  });

  it('keeps nothing that is not its own kind of buffer (a frame of another size, or not in shared memory)', () => {
    const pool = new SharedFramePool(bytes);
    pool.give(new Uint8Array(bytes));
    pool.give(new Uint8Array(new SharedArrayBuffer(bytes / 2)));
    expect(pool.take().buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(pool.take().byteLength).toBe(bytes);
  });
});

describe('frames decoded into shared memory, read by the vision workers without a copy', () => {
  let workers: VisionWorkers;
  const frames: Uint8Array[] = [];
  beforeAll(async () => {
    workers = await startVision(config.vision, 2);
    const pool = new SharedFramePool(bytes);
    const decoder = new VideoDecoder({ input: await faceVideoMp4(4), width: 640, height: 480, fps: 5, frameBuffer: () => pool.take() });
    for await (const { pixels } of decoder.frames()) frames.push(pixels);
  });
  afterAll(() => workers.close());

  it('finds the same faces as in a private copy of the frame, and leaves the shared frame as it was', async () => {
    expect(frames.length).toBeGreaterThanOrEqual(19);
    expect(new Set(frames.map((f) => f.buffer)).size).toBe(frames.length);
    for (const pixels of frames.slice(0, 6)) {
      const before = pixels.slice();
      const shared = { width: 640, height: 480, pixels };
      const copy = { width: 640, height: 480, pixels: pixels.slice() };
      const [fromShared, fromCopy] = await Promise.all([workers.detector.detect(shared), workers.detector.detect(copy)]);
      expect(fromShared).toHaveLength(1);
      expect(fromShared).toEqual(fromCopy);
      const regions = [regionAround(fromShared[0]!.box, 2)];
      expect(await workers.detector.detectRegions(shared, regions)).toEqual(await workers.detector.detectRegions(copy, regions));
      // Shared, not handed over: the main thread's frame is neither detached nor changed.
      expect(pixels.byteLength).toBe(bytes);
      expect(Buffer.compare(pixels, before)).toBe(0);
    }
  });
});
