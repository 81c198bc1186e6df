import { catchError, defer, firstValueFrom, merge, mergeMap, type Observable, of, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import {
  type BatchStats,
  BatchQueueFullError,
  BatchResultError,
  createMicroBatcher,
  type MicroBatcherOptions,
} from '../../server/src/pipeline/microBatch.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/**
 * A batcher whose batch function takes `runTime` (a marble like '---|') and multiplies by 10,
 * recording every batch and the most batches that ever ran at once.
 */
function harness(
  cold: TestScheduler['createColdObservable'],
  runTime: string,
  options: MicroBatcherOptions,
) {
  const calls: number[][] = [];
  let running = 0;
  let maxRunning = 0;
  const batcher = createMicroBatcher<number, number>(
    (items) =>
      defer(() => {
        calls.push(items);
        maxRunning = Math.max(maxRunning, ++running);
        // Counted down as the result leaves, before the batcher sees it and may start the next batch.
        return cold(runTime.replace('|', '(r|)'), { r: items.map((i) => i * 10) }).pipe(tap(() => running--));
      }),
    options,
  );
  const submitAll = (source: Observable<string>) => source.pipe(mergeMap((c) => batcher.submit(Number(c))));
  return { batcher, calls, submitAll, maxRunning: () => maxRunning };
}

describe('createMicroBatcher', () => {
  it('starts a batch maxWaitMs after its first item and routes each result to its submitter', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const h = harness(cold, '---|', { maxBatchSize: 10, maxWaitMs: 5 });
      // 1 and 2 share a batch at 5 (ends 8); 3 arrives alone and waits its own 5 ms.
      expectObservable(h.submitAll(cold('1-2--------3|'))).toBe('--------(ab)-------(c|)', { a: 10, b: 20, c: 30 });
      flush();
      expect(h.calls).toEqual([[1, 2], [3]]);
    });
  });

  it('with waitWhileGapBelowMs, waits only while items come at least that often', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const h = harness(cold, '-|', { maxBatchSize: 10, maxWaitMs: 10, waitWhileGapBelowMs: 5 });
      // Eight items 20 ms apart, then eight 1 ms apart (from 160). Each runs at once (1 ms) while the last eight
      // submits are mostly sparse; from 166 their mean gap is below 5 ms, and the last two wait 10 ms together.
      const sparse = '1 19ms 1 19ms 1 19ms 1 19ms 1 19ms 1 19ms 1 19ms 1 19ms ';
      expectObservable(h.submitAll(cold(`${sparse}22222222|`))).toBe(
        '-a 19ms a 19ms a 19ms a 19ms a 19ms a 19ms a 19ms a 19ms bbbbbb 10ms (bb|)',
        { a: 10, b: 20 },
      );
      flush();
      expect(h.calls).toEqual([...Array.from({ length: 14 }, (_, i) => [i < 8 ? 1 : 2]), [2, 2]]);
    });
  });

  it('starts a full batch at once without waiting', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const h = harness(cold, '---|', { maxBatchSize: 3, maxWaitMs: 100 });
      expectObservable(h.submitAll(cold('(1234)|'))).toBe('---(abc) 95ms (d|)', { a: 10, b: 20, c: 30, d: 40 });
      flush();
      // 4 overflows the full batch and starts its own wait at 0: its batch starts at 100.
      expect(h.calls).toEqual([[1, 2, 3], [4]]);
    });
  });

  it('never overlaps batches by default: items that arrive during a batch go in the next one', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const h = harness(cold, '----|', { maxBatchSize: 2, maxWaitMs: 0 });
      expectObservable(h.submitAll(cold('1-23---4|'))).toBe('----a---(bc)(d|)', { a: 10, b: 20, c: 30, d: 40 });
      flush();
      expect(h.calls).toEqual([[1], [2, 3], [4]]);
      expect(h.maxRunning()).toBe(1);
    });
  });

  it('runs up to maxConcurrentBatches batches at once', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const h = harness(cold, '----|', { maxBatchSize: 2, maxWaitMs: 0, maxConcurrentBatches: 2 });
      // [1] 0..4, [2] 2..6, 3 waits for the slot [1] frees at 4, [4] 7..11.
      expectObservable(h.submitAll(cold('1-23---4|'))).toBe('----a-b-c--(d|)', { a: 10, b: 20, c: 30, d: 40 });
      flush();
      expect(h.calls).toEqual([[1], [2], [3], [4]]);
      expect(h.maxRunning()).toBe(2);
    });
  });

  it('fails a submit at once when maxQueued items are already waiting', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const h = harness(cold, '-----|', { maxBatchSize: 1, maxWaitMs: 0, maxQueued: 2 });
      const results = cold('1234|').pipe(
        mergeMap((c) =>
          h.batcher.submit(Number(c)).pipe(
            catchError((err: unknown) => of(err instanceof BatchQueueFullError ? err.code : 'other')),
          ),
        ),
      );
      // 1 runs at once; 2 and 3 fill the queue; 4 is refused.
      expectObservable(results).toBe('---x-a----b----(c|)', { x: 'BATCH_QUEUE_FULL', a: 10, b: 20, c: 30 });
    });
  });

  it('takes an unsubscribed item out of the queue, restarting the wait from the new first item', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const h = harness(cold, '-|', { maxBatchSize: 10, maxWaitMs: 5 });
      expectObservable(h.batcher.submit(1), '^-!').toBe('---');
      expectObservable(cold('---x').pipe(mergeMap(() => h.batcher.submit(2)))).toBe('---------a', { a: 20 });
      flush();
      // Without 1, the batch waits for 5 ms from 2's arrival at 3, not from 1's at 0.
      expect(h.calls).toEqual([[2]]);
    });
  });

  it('fails every item of a batch whose run fails, and carries on with the next batch', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const error = new Error('inference failed');
      let call = 0;
      const batcher = createMicroBatcher<number, number>(
        (items) => (call++ === 0 ? cold('--#', undefined, error) : cold('--(r|)', { r: items })),
        { maxWaitMs: 1 },
      );
      const outcome = (n: number) =>
        batcher.submit(n).pipe(catchError((err: unknown) => of(err === error ? 'failed' : 'other')));
      expectObservable(merge(outcome(1), outcome(2))).toBe('---(ff|)', { f: 'failed' });
      expectObservable(cold('----x|').pipe(mergeMap(() => outcome(3)))).toBe('-------(a|)', { a: 3 });
    });
  });

  it('fails the batch when runBatch returns the wrong number of results', () => {
    testScheduler().run(({ expectObservable }) => {
      const batcher = createMicroBatcher<number, number>(() => of([1]), { maxWaitMs: 1 });
      const outcome = (n: number) =>
        batcher.submit(n).pipe(catchError((err: unknown) => of(err instanceof BatchResultError ? err.message : '?')));
      // Both items share the batch at 1, which gets 1 result.
      expectObservable(merge(outcome(1), outcome(2))).toBe('-(aa|)', { a: 'runBatch returned 1 results for 2 items' });
    });
  });

  it('reports each batch to onBatch', () => {
    testScheduler().run(({ cold, flush }) => {
      const stats: BatchStats[] = [];
      const h = harness(cold, '---|', { maxBatchSize: 2, maxWaitMs: 4, onBatch: (s) => stats.push(s) });
      h.submitAll(cold('1-23|')).subscribe();
      flush();
      expect(stats).toEqual([
        { size: 2, waitMs: 2, runMs: 3, queuedAtStart: 0, ok: true },
        { size: 1, waitMs: 4, runMs: 3, queuedAtStart: 0, ok: true },
      ]);
    });
  });

  it('rejects options that cannot work', () => {
    expect(() => createMicroBatcher(async () => [], { maxBatchSize: 0 })).toThrow(/maxBatchSize/);
    expect(() => createMicroBatcher(async () => [], { maxWaitMs: -1 })).toThrow(/maxWaitMs/);
  });

  it('works with a Promise-returning batch function on the real clock', async () => {
    const calls: string[][] = [];
    const batcher = createMicroBatcher(
      async (items: string[]) => {
        calls.push(items);
        return items.map((s) => s.toUpperCase());
      },
      // Long enough that a slow machine cannot start the batch between the three submissions.
      { maxWaitMs: 50 },
    );
    const results = await Promise.all(['a', 'b', 'c'].map((s) => firstValueFrom(batcher.submit(s))));
    expect(results).toEqual(['A', 'B', 'C']);
    expect(calls).toEqual([['a', 'b', 'c']]);
  });
});
