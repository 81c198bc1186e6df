import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.ts';
import { VideoDecoder } from '../../server/src/offline/decodeVideo.ts';
import { FramePool } from '../../server/src/media/FramePool.ts';
import { startVision } from '../../server/src/offline/startVision.ts';
import { regionAround } from '../../server/src/pipeline/regionTracking.ts';
import type { VisionWorkers } from '../../server/src/vision/VisionWorkers.ts';
import { faceVideoMp4 } from './media.ts';

const config = loadConfig({});
const bytes = 640 * 480 * 3;

describe('frames decoded into shared memory, read by the vision workers without a copy', () => {
  let workers: VisionWorkers;
  const frames: Uint8Array[] = [];
  beforeAll(async () => {
    workers = await startVision(config.vision, 2);
    const pool = new FramePool();
    const decoder = new VideoDecoder({ input: await faceVideoMp4(4), width: 640, height: 480, fps: 5, frameBuffer: () => pool.take(bytes) });
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
