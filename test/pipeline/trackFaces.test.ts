import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { type FacesAt, trackFaces } from '../../server/src/pipeline/trackFaces.ts';
import type { FaceDetection } from '../../server/src/vision/types.ts';
import { face } from './faceFixtures.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

interface FrameDetections extends FacesAt<{ detection: FaceDetection; n: number }> {
  seq: number;
}

const frame = (seq: number, present: boolean): FrameDetections => ({
  seq,
  timeMs: seq * 100,
  faces: present ? [{ detection: face(200, 200), n: seq }] : [],
});

describe('trackFaces', () => {
  it('replaces faces with the confirmed ones, ids added, and adds ended, keeping every other field', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: frame(0, true), b: frame(1, true), c: frame(2, false), d: frame(9, false) };
      const source = cold('abcd|', values);
      expectObservable(source.pipe(trackFaces({ minHits: 2, maxMissMs: 500 }))).toBe('abcd|', {
        a: { ...values.a, faces: [], ended: [] },
        b: { ...values.b, faces: [{ id: 1, detection: face(200, 200), n: 1 }], ended: [] },
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
