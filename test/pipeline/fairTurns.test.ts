import { merge, NEVER, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { AnalysisRate } from '../../server/src/pipeline/analysisRate.ts';
import { analysisLoad, RecentFrames } from '../../server/src/pipeline/analysisLoad.ts';
import { createFairTurns } from '../../server/src/pipeline/fairTurns.ts';
import { processLatest } from '../../server/src/pipeline/processLatest.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('createFairTurns', () => {
  it('grants at most `concurrency` turns at once, in the order they were asked for', () => {
    const turns = createFairTurns(2);
    const started: string[] = [];
    const ends = ['a', 'b', 'c', 'd'].map((name) => turns.request(() => started.push(name)));
    expect(started).toEqual(['a', 'b']);
    expect([turns.running, turns.waiting]).toEqual([2, 2]);
    ends[1]!();
    expect(started).toEqual(['a', 'b', 'c']);
    // A withdrawn request never starts; ending a turn twice frees one slot only.
    ends[3]!();
    ends[1]!();
    expect([turns.running, turns.waiting]).toEqual([2, 0]);
    ends[0]!();
    ends[2]!();
    expect([turns.running, turns.waiting, started.length]).toEqual([0, 0, 3]);
  });

  it('lets a turn that ends inside its own start hand over to the next request', () => {
    const turns = createFairTurns(1);
    const started: number[] = [];
    turns.request(() => started.push(0));
    turns.request((end) => {
      started.push(1);
      end();
    });
    turns.request(() => started.push(2));
    expect(started).toEqual([0]);
    turns.request(() => undefined);
    expect(turns.waiting).toBe(3);
  });

  it('refuses a concurrency below 1', () => {
    expect(() => createFairTurns(0)).toThrow(RangeError);
  });
});

describe('processLatest with shared turns', () => {
  it('shares one slot round-robin between streams, each analysing its newest frame on its turn', () => {
    testScheduler().run(({ cold, hot, flush }) => {
      const turns = createFairTurns(1);
      const dropped: string[] = [];
      // Three streams offer a frame every 2 ms; one frame takes 3 ms: together they offer 4.5x what the slot does.
      const stream = (name: string) =>
        hot('a-b-c-d-e-f-g-h-|', Object.fromEntries([...'abcdefgh'].map((f) => [f, `${name}${f}`]))).pipe(
          processLatest((frame: string) => cold('---(x|)', { x: frame }), { turns, onDrop: (f) => dropped.push(f) }),
        );
      const analysed: string[] = [];
      merge(stream('1'), stream('2'), stream('3')).subscribe((frame) => analysed.push(frame));
      flush();
      // Every stream's turn comes every third slot (1 at 0, 9, 18 ms; 2 at 3, 12, 21; 3 at 6, 15), and it takes
      // the newest frame it has then; after the last frames (14 ms) each stream analyses that one once.
      expect(analysed).toEqual(['1a', '2b', '3d', '1e', '2g', '3h', '1h', '2h']);
      expect(dropped).toHaveLength(3 * 8 - analysed.length);
      expect([turns.running, turns.waiting]).toEqual([0, 0]);
    });
  });

  it('gives its turn back when unsubscribed while waiting for it or taking it', () => {
    const turns = createFairTurns(1);
    const held = of('a').pipe(processLatest(() => NEVER, { turns })).subscribe();
    const queued = of('a').pipe(processLatest(() => NEVER, { turns })).subscribe();
    expect([turns.running, turns.waiting]).toEqual([1, 1]);
    queued.unsubscribe();
    expect([turns.running, turns.waiting]).toEqual([1, 0]);
    held.unsubscribe();
    expect([turns.running, turns.waiting]).toEqual([0, 0]);
  });

  it('processes every value when the turn and the work both come at once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const turns = createFairTurns(1);
      expectObservable(cold('a-b-c|').pipe(processLatest((v: string) => of(v), { turns }))).toBe('a-b-c|');
    });
  });
});

describe('AnalysisRate', () => {
  it('counts the frames of the last two seconds, and follows a change of rate', () => {
    const rate = new AnalysisRate();
    expect(rate.add(0)).toBeUndefined();
    let fps: number | undefined;
    for (let t = 100; t <= 3000; t += 100) fps = rate.add(t);
    expect(fps).toBeCloseTo(10, 5);
    for (let t = 3250; t <= 6000; t += 250) fps = rate.add(t);
    expect(fps).toBeCloseTo(4, 5);
    // A stream analysed rarely still has a rate: one frame over the gap.
    expect(rate.add(11_000)).toBeCloseTo(0.2, 5);
  });
});

describe('analysisLoad', () => {
  it('reports the share of frames dropped in the last 10 s, and sheds above 5%', () => {
    const recent = new RecentFrames();
    for (let i = 0; i < 90; i++) recent.add('analysed', 1000 + i * 10);
    for (let i = 0; i < 10; i++) recent.add('dropped', 1500 + i * 10);
    const turns = createFairTurns(4);
    const load = analysisLoad(turns, recent, 3, [10, 8, 6], 2000);
    expect(load).toEqual({ streams: 3, concurrency: 4, running: 0, waiting: 0, droppedShare: 0.1, meanFps: 8, minFps: 6, shedding: true });
    // Ten seconds later the window has moved past all of it.
    expect(analysisLoad(turns, recent, 0, [], 12_000)).toMatchObject({ droppedShare: 0, shedding: false, meanFps: null, minFps: null });
  });
});
