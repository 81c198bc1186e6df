import { describe, expect, it } from 'vitest';
import { createFrameRateLimiter } from '../../server/src/media/frameRate.ts';

const kept = (fps: number, times: number[]) => {
  const keep = createFrameRateLimiter(fps);
  return times.filter((t) => keep(t));
};

describe('createFrameRateLimiter', () => {
  it('thins a 30 fps source to 15 fps, evenly', () => {
    const times = Array.from({ length: 30 }, (_, i) => Math.round((i * 1000) / 30));
    expect(kept(15, times)).toEqual(times.filter((_, i) => i % 2 === 0));
  });

  it('delivers the target rate from a source that is not a multiple of it (20 -> 15 fps)', () => {
    const times = Array.from({ length: 200 }, (_, i) => i * 50);
    expect(kept(15, times).length).toBeGreaterThanOrEqual(148);
    expect(kept(15, times).length).toBeLessThanOrEqual(151);
  });

  it('keeps a jittered on-time frame, and restarts its grid after a pause instead of bursting', () => {
    expect(kept(10, [0, 95, 200, 300])).toEqual([0, 95, 200, 300]);
    expect(kept(10, [0, 100, 2000, 2010, 2050, 2100])).toEqual([0, 100, 2000, 2100]);
  });
});
