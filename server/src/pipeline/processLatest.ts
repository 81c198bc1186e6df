import {
  asyncScheduler,
  from,
  Observable,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { EndTurn, FairTurns } from './fairTurns.ts';

export interface ProcessLatestOptions<T> {
  /**
   * Least time between the starts of two `project` calls, in scheduler ms. This caps the analysis
   * rate of one stream (`1000 / fps`) independently of how fast frames arrive or processing returns.
   * Default 0: start again as soon as the previous run ends.
   */
  minIntervalMs?: number;
  /**
   * Called with each value that was waiting and got replaced by a newer one before it could be
   * processed: the hook for a "frames dropped" metric. The value is not processed. A value still
   * waiting when the subscriber unsubscribes or the stream errors is discarded without a call.
   */
  onDrop?: (dropped: T) => void;
  /**
   * Turns shared with other streams: a waiting value starts only on its stream's turn, and the value that starts is
   * the newest at that moment. Undefined: it starts as soon as this stream is free.
   */
  turns?: FairTurns;
  /** Clock and timers for the rate limit. Default `asyncScheduler` (virtual inside `TestScheduler.run`). */
  scheduler?: SchedulerLike;
}

/**
 * Latest-wins processing: projects each source value to an inner Observable, running at most one
 * inner at a time, and keeps at most ONE value waiting. A value that arrives while an inner runs (or
 * while the rate limit holds) replaces the waiting one, which is reported to `onDrop`; so a slow
 * stage sees the newest frame, never a backlog of stale ones.
 *
 * Like `exhaustMap`, but the newest value that arrived during the busy period runs next instead of
 * being ignored. Completes when the source has completed and nothing runs or waits. Errors from the
 * source, `project` or an inner are forwarded: catch inside `project` to survive a failed frame.
 */
export function processLatest<T, R>(
  project: (value: T, index: number) => ObservableInput<R>,
  options: ProcessLatestOptions<T> = {},
): OperatorFunction<T, R> {
  const { minIntervalMs = 0, onDrop, turns, scheduler = asyncScheduler } = options;
  return (source) =>
    new Observable<R>((subscriber) => {
      let index = 0;
      let busy = false;
      let sourceDone = false;
      let waiting: { value: T } | undefined;
      let lastStart = Number.NEGATIVE_INFINITY;
      let inner: Subscription | undefined;
      let timer: Subscription | undefined;
      /** Set while this stream waits for its turn or takes it. */
      let endTurn: EndTurn | undefined;
      const finishTurn = () => {
        endTurn?.();
        endTurn = undefined;
      };

      const start = (value: T): void => {
        busy = true;
        lastStart = scheduler.now();
        let input: ObservableInput<R>;
        try {
          input = project(value, index++);
        } catch (err) {
          finishTurn();
          subscriber.error(err);
          return;
        }
        inner = from(input).subscribe({
          next: (result) => subscriber.next(result),
          error: (err: unknown) => {
            finishTurn();
            subscriber.error(err);
          },
          complete: () => {
            busy = false;
            finishTurn();
            drain();
          },
        });
      };

      const takeWaiting = (): void => {
        const { value } = waiting!;
        waiting = undefined;
        start(value);
      };

      const drain = (): void => {
        if (busy || timer) return;
        if (!waiting) {
          if (sourceDone) subscriber.complete();
          return;
        }
        const delay = lastStart + minIntervalMs - scheduler.now();
        if (delay > 0) {
          timer = scheduler.schedule(() => {
            timer = undefined;
            drain();
          }, delay);
          return;
        }
        if (!turns) return takeWaiting();
        // Busy from the request on, so a value arriving meanwhile only replaces the waiting one; the turn takes
        // whichever is newest when it comes.
        busy = true;
        let granted = false;
        const withdraw = turns.request((end) => {
          granted = true;
          endTurn = end;
          takeWaiting();
        });
        if (!granted) endTurn = withdraw;
      };

      const sourceSubscription = source.subscribe({
        next: (value) => {
          if (waiting) onDrop?.(waiting.value);
          waiting = { value };
          drain();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          drain();
        },
      });

      return () => {
        sourceSubscription.unsubscribe();
        inner?.unsubscribe();
        timer?.unsubscribe();
        finishTurn();
      };
    });
}
