import { describe, expect, it } from 'vitest';
import { ByteRing } from '../../server/src/media/ByteRing.ts';

const bytes = (from: number, count: number) => Uint8Array.from({ length: count }, (_, i) => (from + i) & 0xff);

describe('ByteRing', () => {
  it('gives bytes back first in, first out, across the end of the ring', () => {
    const ring = new ByteRing(8);
    ring.write(bytes(0, 6));
    const first = new Uint8Array(4);
    ring.read(first);
    expect(first).toEqual(bytes(0, 4));
    // 2 left at positions 4-5; 5 more wrap round to the start.
    ring.write(bytes(6, 5));
    expect(ring.capacity).toBe(8);
    const rest = new Uint8Array(7);
    ring.read(rest);
    expect(rest).toEqual(bytes(4, 7));
    expect(ring.length).toBe(0);
  });

  it('grows when the bytes do not fit, keeping their order (also when they had wrapped)', () => {
    const ring = new ByteRing(8);
    ring.write(bytes(0, 6));
    ring.read(new Uint8Array(5));
    ring.write(bytes(6, 6)); // 7 bytes, wrapped
    ring.write(bytes(12, 10)); // 17 > 8: grows
    expect(ring.capacity).toBeGreaterThanOrEqual(17);
    const all = new Uint8Array(17);
    ring.read(all);
    expect(all).toEqual(bytes(5, 17));
  });

  it('refuses to read more than it holds', () => {
    const ring = new ByteRing(8);
    ring.write(bytes(0, 3));
    expect(() => ring.read(new Uint8Array(4))).toThrow(RangeError);
    expect(ring.length).toBe(3);
  });
});
