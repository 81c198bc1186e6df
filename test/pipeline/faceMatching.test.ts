import { describe, expect, it } from 'vitest';
import { faceMatchCost, keypointDistance } from '../../server/src/pipeline/faceMatching.ts';
import { face } from './faceFixtures.ts';

describe('keypointDistance', () => {
  it('is the mean keypoint offset in units of the first face size', () => {
    expect(keypointDistance(face(100, 100, 100), face(130, 140, 100))).toBeCloseTo(0.5, 12);
    // The same 50 px offset is a smaller distance for a face twice the size.
    expect(keypointDistance(face(100, 100, 200), face(130, 140, 200))).toBeCloseTo(0.25, 12);
  });

  it('falls back to box centres when keypoints do not correspond', () => {
    const bare = { ...face(130, 140), keypoints: [] };
    expect(keypointDistance(face(100, 100), bare)).toBeCloseTo(0.5, 12);
  });
});

describe('faceMatchCost', () => {
  it('is 0 for the same place and grows with the offset', () => {
    expect(faceMatchCost(face(100, 100), face(100, 100))).toBe(0);
    const near = faceMatchCost(face(100, 100), face(110, 100));
    const far = faceMatchCost(face(100, 100), face(150, 100));
    expect(near).toBeGreaterThan(0);
    expect(far).toBeGreaterThan(near);
    // 50 px on a 100 px face: 1 - 1/3 + 0.5.
    expect(far).toBeCloseTo(1 - 1 / 3 + 0.5, 12);
  });
});
