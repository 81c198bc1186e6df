import { describe, expect, it } from 'vitest';
import { LaggingDecoders, StaleRun } from '../../server/src/media/staleRun.ts';

describe('StaleRun', () => {
  it('says restart only once the frames have stayed stale for the whole interval', () => {
    const run = new StaleRun(5000, new LaggingDecoders());
    expect(run.add(0, true)).toBe(false);
    expect(run.add(4999, true)).toBe(false);
    expect(run.add(5000, true)).toBe(true);
  });

  it('starts over at a fresh frame: a decoder that catches up by itself is left alone', () => {
    const run = new StaleRun(5000, new LaggingDecoders());
    for (let t = 0; t < 20_000; t += 100) expect(run.add(t, t % 3000 < 2000)).toBe(false);
  });

  it('starts over for a new decoder, and with 0 restarts at the first stale frame', () => {
    const group = new LaggingDecoders();
    const run = new StaleRun(5000, group);
    run.add(0, true);
    run.reset();
    expect(run.add(5000, true)).toBe(false);
    expect(new StaleRun(0, new LaggingDecoders()).add(123, true)).toBe(true);
    expect(new StaleRun(0, new LaggingDecoders()).add(123, false)).toBe(false);
  });
});

describe('LaggingDecoders', () => {
  const decoders = (count: number, group: LaggingDecoders) => Array.from({ length: count }, () => new StaleRun(1000, group));

  it('lets the one decoder behind among many restart: it is stuck, not starved', () => {
    const group = new LaggingDecoders(0.25);
    const [stuck, ...others] = decoders(8, group);
    for (let t = 0; t <= 1000; t += 100) {
      for (const other of others) other.add(t, false);
      if (t < 1000) expect(stuck!.add(t, true)).toBe(false);
    }
    expect(stuck!.add(1000, true)).toBe(true);
  });

  it('holds restarts while many decoders are behind together, and lets the last ones restart once the rest caught up', () => {
    const group = new LaggingDecoders(0.25);
    const all = decoders(8, group);
    // Start-up burst: every decoder behind for 3 s; nobody restarts.
    for (let t = 0; t <= 3000; t += 100) for (const run of all) expect(run.add(t, true)).toBe(false);
    expect(group.behind).toBe(8);
    // Six catch up; two are still behind: 2 <= 8 * 0.25, so they may restart now.
    for (const run of all.slice(0, 6)) run.add(3100, false);
    expect(group.behind).toBe(2);
    expect(all[6]!.add(3100, true)).toBe(true);
  });

  it('forgets a closed decoder: its share no longer counts', () => {
    const group = new LaggingDecoders(0.25);
    const [a, b, c, d] = decoders(4, group);
    a!.add(0, true);
    b!.add(0, true);
    expect(group.fewBehind).toBe(false);
    b!.close();
    expect(group.behind).toBe(1);
    expect(group.fewBehind).toBe(true);
    c!.add(0, false);
    d!.add(0, false);
    expect(a!.add(1000, true)).toBe(true);
  });
});
