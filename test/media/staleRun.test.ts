import { describe, expect, it } from 'vitest';
import { StaleRun } from '../../server/src/media/staleRun.ts';

describe('StaleRun', () => {
  it('says restart only once the frames have stayed stale for the whole interval', () => {
    const run = new StaleRun(5000);
    expect(run.add(0, true)).toBe(false);
    expect(run.add(4999, true)).toBe(false);
    expect(run.add(5000, true)).toBe(true);
  });

  it('starts over at a fresh frame: a decoder that catches up by itself is left alone', () => {
    const run = new StaleRun(5000);
    for (let t = 0; t < 20_000; t += 100) expect(run.add(t, t % 3000 < 2000)).toBe(false);
  });

  it('starts over for a new decoder, and with 0 restarts at the first stale frame', () => {
    const run = new StaleRun(5000);
    run.add(0, true);
    run.reset();
    expect(run.add(5000, true)).toBe(false);
    expect(new StaleRun(0).add(123, true)).toBe(true);
    expect(new StaleRun(0).add(123, false)).toBe(false);
  });
});
