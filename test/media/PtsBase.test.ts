import { describe, expect, it } from 'vitest';
import { PtsBase } from '../../server/src/media/PtsBase.ts';
import { markedTimestamp } from '../../server/src/media/rtp.ts';

/** RTP timestamps of frames 0..n-1 starting at `start`, with the given intervals repeating. */
function timestamps(start: number, intervals: number[], n: number): number[] {
  const out = [start];
  for (let i = 1; i < n; i++) out.push((out[i - 1]! + intervals[(i - 1) % intervals.length]!) % 2 ** 32);
  return out;
}

describe('PtsBase', () => {
  it('finds the frame a decoder counts from by the jitter of real frame intervals', () => {
    const ts = timestamps(2 ** 32 - 5000, [3690, 3600, 3780, 3510, 3600], 12); // wraps around 2^32
    const arrived = new Set(ts);
    const base = new PtsBase();
    // The decoder joined mid-frame 0 and counts from frame 2: the first-start guess (frame 0) is wrong.
    ts.forEach((t, i) => base.forwarded(t, i !== 1));
    const ptsOf = (frame: number) => (ts[frame]! - ts[2]! + 2 ** 32) % 2 ** 32;
    const mapped = [2, 3, 4, 5].map((frame) => base.timestampOf(ptsOf(frame), (t) => arrived.has(t)));
    // From the second decoded frame on, only the true base fits.
    expect(mapped.slice(1)).toEqual([ts[3], ts[4], ts[5]]);
    expect(base.timestampOf(ptsOf(9), (t) => arrived.has(t))).toBe(ts[9]);
  });

  it('falls back to the first frame start when intervals are too regular to tell', () => {
    const ts = timestamps(1000, [3600], 10);
    const arrived = new Set(ts);
    const base = new PtsBase();
    ts.forEach((t, i) => base.forwarded(t, i >= 1));
    expect(base.timestampOf(3600, (t) => arrived.has(t))).toBe(ts[2]);
  });

  it('finds the true base of perfectly regular timestamps once the relay has marked them', () => {
    // A replayed file: exactly 40 ms apart. The decoder counts from the 12th frame it was sent (a loaded
    // machine's ffmpeg was seen to do so); unmarked, every candidate fits and frame 0 would be guessed.
    const ts = timestamps(2 ** 32 - 20 * 3600, [3600], 40).map(markedTimestamp);
    const arrived = new Set(ts);
    const base = new PtsBase();
    ts.forEach((t) => base.forwarded(t, true));
    const ptsOf = (frame: number) => (ts[frame]! - ts[11]! + 2 ** 32) % 2 ** 32;
    for (const frame of [11, 14, 16]) base.timestampOf(ptsOf(frame), (t) => arrived.has(t));
    expect(base.timestampOf(ptsOf(30), (t) => arrived.has(t))).toBe(ts[30]);
  });

  it('knows nothing before anything was forwarded', () => {
    expect(new PtsBase().timestampOf(0, () => true)).toBeUndefined();
  });
});
