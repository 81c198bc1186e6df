import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { type AffectFrame, smoothAffect } from '../../server/src/pipeline/smoothAffect.ts';
import { prediction } from './affectFixtures.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

interface Frame extends AffectFrame {
  seq: number;
}

const probs = { neutral: 0.5, happy: 0.5 };
/** A frame at `timeMs` whose faces have the given raw valence, by track id. */
const frame = (timeMs: number, valences: Record<number, number>, ended: number[] = []): Frame => ({
  seq: timeMs,
  timeMs,
  faces: Object.entries(valences).map(([id, v]) => ({ id: Number(id), prediction: prediction(v, 0, probs) })),
  ended,
});

/** The smoothed valence of each face, by id. */
const valences = (f: Frame) => Object.fromEntries(f.faces.map((face) => [face.id, face.prediction.valence]));

describe('smoothAffect', () => {
  it('smooths each track on its own', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc|', {
        a: frame(0, { 1: 0, 2: 0.5 }),
        b: frame(100, { 1: 1, 2: 0.5 }),
        c: frame(200, { 2: 0.5 }),
      });
      const out = source.pipe(smoothAffect(), map(valences));
      expectObservable(out).toBe('abc|', {
        a: { 1: 0, 2: 0.5 },
        // Track 1 moves part of the way; track 2, steady, is untouched by track 1's jump.
        b: { 1: expect.closeTo(0.6042, 4), 2: 0.5 },
        c: { 2: 0.5 },
      });
    });
  });

  it('keeps the other fields of frames and faces', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const a = { ...frame(0, { 7: 0.3 }), extra: 'x' };
      const withCrop = { ...a, faces: a.faces.map((f) => ({ ...f, box: [1, 2, 3, 4] })) };
      expectObservable(cold('a|', { a: withCrop }).pipe(smoothAffect())).toBe('a|', { a: withCrop });
    });
  });

  it('frees the state of an ended track: the id starts afresh', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc|', {
        a: frame(0, { 1: 0 }),
        b: frame(100, {}, [1]),
        c: frame(200, { 1: 1 }),
      });
      // Had the state survived, 1 would be pulled back towards 0.
      expectObservable(source.pipe(smoothAffect(), map(valences))).toBe('abc|', { a: { 1: 0 }, b: {}, c: { 1: 1 } });
    });
  });

  it('frees the state of a track idle longer than maxIdleMs without an end notice', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: frame(0, { 1: 0 }), b: frame(1500, { 1: 1 }) };
      expectObservable(cold('ab|', values).pipe(smoothAffect({ maxIdleMs: 1000 }), map(valences))).toBe('ab|', {
        a: { 1: 0 },
        b: { 1: 1 },
      });
      // With a longer allowance the old state still pulls the value back.
      expectObservable(cold('ab|', values).pipe(smoothAffect({ maxIdleMs: 2000 }), map(valences))).toBe('ab|', {
        a: { 1: 0 },
        b: { 1: expect.closeTo(0.8831, 4) },
      });
    });
  });

  it('keeps separate state per subscription', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const smoothed = cold('a|', { a: frame(100, { 1: 1 }) }).pipe(smoothAffect(), map(valences));
      const primed = cold('a|', { a: frame(0, { 1: 0 }) }).pipe(smoothAffect(), map(valences));
      expectObservable(primed).toBe('a|', { a: { 1: 0 } });
      expectObservable(smoothed).toBe('a|', { a: { 1: 1 } });
    });
  });

  it('rejects bad options when the operator is made', () => {
    expect(() => smoothAffect({ auThresholds: { on: 0.2, off: 0.5 } })).toThrow(RangeError);
  });
});
