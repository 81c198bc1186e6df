import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { type DetectionsAt, trackFaces } from '../../server/src/pipeline/trackFaces.ts';
import { face } from './faceFixtures.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

interface FrameDetections extends DetectionsAt {
  seq: number;
}

const frame = (seq: number, present: boolean): FrameDetections => ({
  seq,
  timeMs: seq * 100,
  detections: present ? [face(200, 200)] : [],
});

describe('trackFaces', () => {
  it('adds faces and ended to each value, keeping its other fields', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: frame(0, true), b: frame(1, true), c: frame(2, false), d: frame(9, false) };
      const source = cold('abcd|', values);
      const tracked = { id: 1, detection: face(200, 200) };
      expectObservable(source.pipe(trackFaces({ minHits: 2, maxMissMs: 500 }))).toBe('abcd|', {
        a: { ...values.a, faces: [], ended: [] },
        b: { ...values.b, faces: [tracked], ended: [] },
        c: { ...values.c, faces: [], ended: [] },
        d: { ...values.d, faces: [], ended: [1] },
      });
    });
  });

  it('keeps separate tracker state per subscription', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: frame(0, true), b: frame(1, true) };
      const ids = cold('ab|', values).pipe(
        trackFaces({ minHits: 1 }),
        map((v) => v.faces.map((f) => f.id)),
      );
      // A shared tracker would hand the second subscriber id 2.
      expectObservable(ids).toBe('ab|', { a: [1], b: [1] });
      expectObservable(ids).toBe('ab|', { a: [1], b: [1] });
    });
  });
});
