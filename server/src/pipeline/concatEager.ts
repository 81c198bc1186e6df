import { from, Observable, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';

/**
 * Like `concatAll`, but every inner Observable is subscribed as soon as it arrives: they run at once, and their
 * values still come out in the order of the inners (a later inner's values wait until every earlier one completed).
 * How many run at once is the source's business: nothing here limits it, so the source must be bounded.
 */
export function concatEager<T>(): OperatorFunction<ObservableInput<T>, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const order: { values: T[]; done: boolean }[] = [];
      const running = new Set<Subscription>();
      let sourceDone = false;

      const flush = (): void => {
        while (order.length > 0) {
          const head = order[0]!;
          for (const value of head.values.splice(0)) subscriber.next(value);
          if (!head.done) return;
          order.shift();
        }
        if (sourceDone) subscriber.complete();
      };

      const outer = source.subscribe({
        next: (input) => {
          const slot = { values: [] as T[], done: false };
          order.push(slot);
          let finished = false;
          let inner: Subscription | undefined;
          inner = from(input).subscribe({
            next: (value) => {
              slot.values.push(value);
              if (order[0] === slot) flush();
            },
            error: (error: unknown) => subscriber.error(error),
            complete: () => {
              finished = true;
              if (inner) running.delete(inner);
              slot.done = true;
              flush();
            },
          });
          // An inner that completed synchronously is already finished: only the others are kept to unsubscribe.
          if (!finished) running.add(inner);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          flush();
        },
      });

      return () => {
        outer.unsubscribe();
        for (const inner of running) inner.unsubscribe();
        running.clear();
      };
    });
}
