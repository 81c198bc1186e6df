import { delay, map, of, Subject, throwError, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { concatEager } from '../../server/src/pipeline/concatEager.ts';
import { detectFaces, type DetectedFrame, type Detector } from '../../server/src/pipeline/detectFaces.ts';
import { emptyFrame } from '../helpers/frames.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('concatEager', () => {
  it('runs inners at once and emits their values in the order of the inners', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // The second inner finishes first; its values wait for the first one.
      const source = cold<Observable<string>>('ab|', { a: cold('----x|'), b: cold('-y|') });
      expectObservable(source.pipe(concatEager())).toBe('----x(y|)');
    });
  });

  it('passes an inner error on and stops', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold<Observable<string>>('ab|', { a: cold('--x|'), b: cold('#') });
      expectObservable(source.pipe(concatEager())).toBe('-#');
    });
  });

  it('unsubscribes running inners when unsubscribed', () => {
    const inner = new Subject<number>();
    const sub = of(inner).pipe(concatEager()).subscribe();
    expect(inner.observed).toBe(true);
    sub.unsubscribe();
    expect(inner.observed).toBe(false);
  });
});

describe('detectFaces everyFrame (recorded files)', () => {
  it('analyses every frame in order, one detection at a time, each frame\'s rest overlapping the next detection', () => {
    let detecting = 0;
    let mostAtOnce = 0;
    testScheduler().run(({ cold, expectObservable }) => {
      // Detection takes 2 ms, the rest of a frame 5 ms; frames arrive every 1 ms, faster than both.
      const detector: Detector = {
        detect: () => {
          detecting++;
          mostAtOnce = Math.max(mostAtOnce, detecting);
          return of([]).pipe(delay(2), map((faces) => ((detecting--, faces))));
        },
        detectRegions: () => throwError(() => new Error('not used')),
      };
      const frames = cold('abcd|', { a: emptyFrame(0), b: emptyFrame(1), c: emptyFrame(2), d: emptyFrame(3) });
      const out = frames.pipe(
        detectFaces<number>({ detector, everyFrame: true, then: (d: DetectedFrame) => of(d.frame.seq).pipe(delay(5)) }),
      );
      // Detections end at 2, 4, 6, 8; each result 5 ms later: none dropped, in order, overlapping.
      expectObservable(out).toBe('-------a-b-c-(d|)', { a: 0, b: 1, c: 2, d: 3 });
    });
    // The detector was never asked twice at once (a frame's regions come from the frame before).
    expect(mostAtOnce).toBe(1);
  });
});
