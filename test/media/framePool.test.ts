import { describe, expect, it } from 'vitest';
import { FramePool } from '../../server/src/media/FramePool.ts';

const bytes = 640 * 480 * 3;

describe('FramePool', () => {
  it('hands out whole frames in shared memory and reuses a buffer given back, once', () => {
    const pool = new FramePool();
    const a = pool.take(bytes);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a.byteLength).toBe(bytes);
    const b = pool.take(bytes);
    expect(b.buffer).not.toBe(a.buffer);
    pool.give(a);
    pool.give(a);
    expect(pool.take(bytes)).toBe(a);
    expect(pool.take(bytes)).not.toBe(a);
  });

  it('hands a buffer out again only at its own size (a stream whose layer changed gets fresh ones)', () => {
    const pool = new FramePool();
    const large = pool.take(bytes);
    pool.give(large);
    const small = pool.take(bytes / 4);
    expect(small.byteLength).toBe(bytes / 4);
    expect(pool.take(bytes)).toBe(large);
  });

  it('keeps nothing that is not a whole shared buffer: a private one, or a view of part of one', () => {
    const pool = new FramePool();
    pool.give(new Uint8Array(bytes));
    pool.give(new Uint8Array(new SharedArrayBuffer(bytes * 2), 0, bytes));
    pool.give(new Uint8Array(new SharedArrayBuffer(bytes * 2), bytes));
    const taken = [pool.take(bytes), pool.take(bytes)];
    for (const pixels of taken) expect(pixels.buffer.byteLength).toBe(bytes);
  });

  it('keeps at most maxFree buffers for later', () => {
    const pool = new FramePool(2);
    const out = [pool.take(bytes), pool.take(bytes), pool.take(bytes)];
    for (const pixels of out) pool.give(pixels);
    const again = [pool.take(bytes), pool.take(bytes), pool.take(bytes)];
    expect(again.filter((pixels) => out.includes(pixels))).toHaveLength(2);
  });
});
