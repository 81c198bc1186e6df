import { describe, expect, it } from 'vitest';
import { mirrorHWC, mirrorNCHW } from '../../models/scripts/mirror.ts';

describe('crop mirror images', () => {
  it('HWC: each pixel moves to the other side of its row, its 3 channels together', () => {
    const size = 3;
    const crop = Float32Array.from({ length: size * size * 3 }, (_, i) => i);
    const out = mirrorHWC(crop, size);
    // pixel (y 1, x 0) <- pixel (y 1, x 2)
    expect(Array.from(out.subarray(9, 12))).toEqual([15, 16, 17]);
    // the middle column stays
    expect(Array.from(out.subarray(12, 15))).toEqual([12, 13, 14]);
    expect(Array.from(mirrorHWC(out, size))).toEqual(Array.from(crop));
  });
  it('NCHW: every row of every channel of every crop reversed, nothing crosses a plane', () => {
    const size = 4;
    const count = 2;
    const crops = Float32Array.from({ length: count * 3 * size * size }, (_, i) => i);
    const out = mirrorNCHW(crops, count, size);
    const second = 3 * size * size;
    // crop 1, channel 2, row 3 = the reverse of the same row
    const o = second + 2 * size * size + 3 * size;
    expect(Array.from(out.subarray(o, o + size))).toEqual(Array.from(crops.subarray(o, o + size)).reverse());
    expect(Array.from(mirrorNCHW(out, count, size))).toEqual(Array.from(crops));
  });
  it('NCHW reads only the crops asked for from a longer buffer (the aligner reuses a larger one)', () => {
    const crops = new Float32Array(3 * 2 * 2 * 2).fill(1);
    expect(mirrorNCHW(crops, 1, 2).length).toBe(12);
  });
});
