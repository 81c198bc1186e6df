import {
  asyncScheduler,
  from,
  Observable,
  type ObservableInput,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
  take,
} from 'rxjs';

export interface MicroBatcherOptions {
  /** Most items in one `runBatch` call. Default 16: a few faces from each of several streams. */
  maxBatchSize?: number;
  /**
   * Longest an item waits for company, counted from the arrival of the first item of its batch.
   * Default 0: batches only what piles up while a batch runs, so an idle model answers at once and a
   * busy one gets bigger batches; a few ms gather more where a batch costs little more than one item.
   */
  maxWaitMs?: number;
  /**
   * Wait for company only while it is likely to come: while the last few items were submitted at least this often
   * (their mean gap, ms). Default Infinity: always wait `maxWaitMs`. With it, a lone stream's faces are not held
   * back for batches that would stay batches of one.
   */
  waitWhileGapBelowMs?: number;
  /** Batches that may run at once. Default 1: one inference session, run one batch at a time. */
  maxConcurrentBatches?: number;
  /**
   * Most items waiting for a batch. A `submit` beyond it fails at once with `BatchQueueFullError`,
   * so overload shows up as errors rather than growing latency. Default `4 * maxBatchSize`.
   */
  maxQueued?: number;
  /** Called as each batch settles: the hook for batch size and latency metrics. */
  onBatch?: (stats: BatchStats) => void;
  /** Clock and timers. Default `asyncScheduler` (virtual inside `TestScheduler.run`). */
  scheduler?: SchedulerLike;
}

export interface BatchStats {
  size: number;
  /** How long the batch's oldest item waited before the batch started. */
  waitMs: number;
  /** From the start of `runBatch` until its result (or failure). */
  runMs: number;
  /** Items left waiting when the batch started. */
  queuedAtStart: number;
  ok: boolean;
}

export interface MicroBatcher<I, O> {
  /**
   * Queues `item` when subscribed and emits its result, then completes. Unsubscribing before the
   * batch starts takes the item out of the queue; after, its result is discarded.
   */
  submit(item: I): Observable<O>;
}

/** A `submit` found the queue full: the batch function is not keeping up with the offered load. */
export class BatchQueueFullError extends Error {
  override name = 'BatchQueueFullError';
  readonly code = 'BATCH_QUEUE_FULL';
}

/** `runBatch` broke its contract of one result per item, in order. */
export class BatchResultError extends Error {
  override name = 'BatchResultError';
}

/** Submits whose mean gap says whether company is coming (waitWhileGapBelowMs). */
const RECENT_SUBMITS = 8;

interface Pending<I, O> {
  item: I;
  subscriber: Subscriber<O>;
  enqueuedAt: number;
}

/**
 * Collects items submitted from anywhere (all streams share one batcher) into batches for one call
 * of `runBatch` each, and routes result `i` back to the submitter of item `i`.
 *
 * A batch starts when it is full, or when its first item has waited `maxWaitMs`, and a slot among
 * `maxConcurrentBatches` is free; items that arrive while the slots are busy wait for a later
 * batch. `runBatch` may return a Promise or an Observable (its first value is the result); a
 * failure fails every item of that batch.
 */
export function createMicroBatcher<I, O>(
  runBatch: (items: I[]) => ObservableInput<readonly O[]>,
  options: MicroBatcherOptions = {},
): MicroBatcher<I, O> {
  const {
    maxBatchSize = 16,
    maxWaitMs = 0,
    waitWhileGapBelowMs = Number.POSITIVE_INFINITY,
    maxConcurrentBatches = 1,
    maxQueued = 4 * maxBatchSize,
    onBatch,
    scheduler = asyncScheduler,
  } = options;
  for (const [name, value] of Object.entries({ maxBatchSize, maxConcurrentBatches, maxQueued })) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  }
  if (!(maxWaitMs >= 0)) throw new RangeError('maxWaitMs must be >= 0');

  const queue: Pending<I, O>[] = [];
  let running = 0;
  let timer: Subscription | undefined;
  let timerDue = 0;
  /** When the last RECENT_SUBMITS items were submitted, oldest first. */
  const recentSubmits: number[] = [];
  const companyExpected = (): boolean =>
    recentSubmits.length === RECENT_SUBMITS &&
    (recentSubmits.at(-1)! - recentSubmits[0]!) / (RECENT_SUBMITS - 1) < waitWhileGapBelowMs;
  const waitMs = (): number => (waitWhileGapBelowMs === Number.POSITIVE_INFINITY || companyExpected() ? maxWaitMs : 0);

  const run = (batch: Pending<I, O>[]): void => {
    running++;
    const startedAt = scheduler.now();
    const stats = { size: batch.length, waitMs: startedAt - batch[0]!.enqueuedAt, queuedAtStart: queue.length };
    let settled = false;
    const settle = (outcome: { results: readonly O[] } | { error: unknown }): void => {
      if (settled) return;
      settled = true;
      running--;
      onBatch?.({ ...stats, runMs: scheduler.now() - startedAt, ok: 'results' in outcome });
      batch.forEach((p, i) => {
        if ('error' in outcome) {
          p.subscriber.error(outcome.error);
        } else {
          p.subscriber.next(outcome.results[i]!);
          p.subscriber.complete();
        }
      });
      pump();
    };

    let input: ObservableInput<readonly O[]>;
    try {
      input = runBatch(batch.map((p) => p.item));
    } catch (error) {
      settle({ error });
      return;
    }
    // Only the first value counts; take(1) also lets go of an Observable that would emit more.
    from(input)
      .pipe(take(1))
      .subscribe({
        next: (results) =>
          settle(
            results.length === batch.length
              ? { results }
              : { error: new BatchResultError(`runBatch returned ${results.length} results for ${batch.length} items`) },
          ),
        error: (error: unknown) => settle({ error }),
        complete: () => settle({ error: new BatchResultError('runBatch completed without a result') }),
      });
  };

  const pump = (): void => {
    while (running < maxConcurrentBatches && queue.length > 0) {
      const due = queue.length >= maxBatchSize || scheduler.now() - queue[0]!.enqueuedAt >= waitMs();
      if (!due) break;
      run(queue.splice(0, maxBatchSize));
    }
    // A timer is only needed while a slot is free and the head is still waiting for company; with
    // every slot busy, the end of a batch calls pump again.
    const next = running < maxConcurrentBatches && queue.length > 0 ? queue[0]!.enqueuedAt + waitMs() : undefined;
    if (timer && timerDue !== next) {
      timer.unsubscribe();
      timer = undefined;
    }
    if (next !== undefined && !timer) {
      timerDue = next;
      timer = scheduler.schedule(() => {
        timer = undefined;
        pump();
      }, next - scheduler.now());
    }
  };

  const submit = (item: I): Observable<O> =>
    new Observable<O>((subscriber) => {
      if (queue.length >= maxQueued) {
        subscriber.error(new BatchQueueFullError(`batch queue full (${maxQueued} items waiting)`));
        return;
      }
      const now = scheduler.now();
      recentSubmits.push(now);
      if (recentSubmits.length > RECENT_SUBMITS) recentSubmits.shift();
      const pending: Pending<I, O> = { item, subscriber, enqueuedAt: now };
      queue.push(pending);
      pump();
      return () => {
        const index = queue.indexOf(pending);
        if (index >= 0) {
          queue.splice(index, 1);
          pump();
        }
      };
    });

  return { submit };
}
