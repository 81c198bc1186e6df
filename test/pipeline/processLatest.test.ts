import { of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { processLatest } from '../../server/src/pipeline/processLatest.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('processLatest', () => {
  it('runs the newest waiting value next and reports the ones it replaced', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const dropped: string[] = [];
      const source = cold('a-bc-------d-|');
      const result = source.pipe(
        processLatest((v: string) => cold('----(x|)', { x: v.toUpperCase() }), {
          onDrop: (v) => dropped.push(v),
        }),
      );
      // a runs 0..4; b waits, then c replaces it; c starts when a ends; d finds the stage idle.
      expectObservable(result).toBe('----A---C------(D|)');
      flush();
      expect(dropped).toEqual(['b']);
    });
  });

  it('keeps at least minIntervalMs between starts, processing only the newest value', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const dropped: string[] = [];
      const source = cold('a-b-c-d-e-f-|');
      const result = source.pipe(
        processLatest((v: string) => cold('-(x|)', { x: v.toUpperCase() }), {
          minIntervalMs: 9,
          onDrop: (v) => dropped.push(v),
        }),
      );
      // Starts at 0, 9 (newest then: e) and 18 (f, which arrived after the source ended).
      expectObservable(result).toBe('-A--------E--------(F|)');
      flush();
      expect(dropped).toEqual(['b', 'c', 'd']);
    });
  });

  it('processes every value when the inner work finishes synchronously', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      let drops = 0;
      const result = cold('a-b-c|').pipe(processLatest((v: string) => of(v), { onDrop: () => drops++ }));
      expectObservable(result).toBe('a-b-c|');
      flush();
      expect(drops).toBe(0);
    });
  });

  it('passes the index of each started projection, not of each source value', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const result = cold('abc----d|').pipe(processLatest((_v: string, i) => cold('---(x|)', { x: i })));
      expectObservable(result).toBe('---x--y---(z|)', { x: 0, y: 1, z: 2 });
    });
  });

  it('tears down the running inner and the rate-limit timer on unsubscribe', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const inner = cold('------(x|)');
      let projected = 0;
      const result = cold('a-b---------').pipe(
        processLatest(() => {
          projected++;
          return inner;
        }),
      );
      expectObservable(result, '^---!').toBe('-----');
      expectSubscriptions(inner.subscriptions).toBe('^---!');
      flush();
      // b was waiting when we unsubscribed; it must never start afterwards.
      expect(projected).toBe(1);
    });
  });

  it('forwards an inner error and stops', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const result = cold('a-b-c|').pipe(
        processLatest((v: string) => (v === 'b' ? cold('-#', undefined, new Error('boom')) : cold('-(x|)', { x: v }))),
      );
      expectObservable(result).toBe('-x-#', { x: 'a' }, new Error('boom'));
    });
  });

  it('forwards an error thrown by project', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const error = new Error('bad frame');
      const result = cold('a|').pipe(
        processLatest(() => {
          throw error;
        }),
      );
      expectObservable(result).toBe('#', undefined, error);
    });
  });
});
