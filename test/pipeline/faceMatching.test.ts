import { describe, expect, it } from 'vitest';
import { boxIoU, faceMatchCost, keypointDistance } from '../../server/src/pipeline/faceMatching.ts';
import { face } from './faceFixtures.ts';

const box = (x: number, y: number, width: number, height: number) => ({ x, y, width, height });

describe('boxIoU', () => {
  it('is 1 for equal boxes, 0 for disjoint or touching ones', () => {
    expect(boxIoU(box(0, 0, 10, 10), box(0, 0, 10, 10))).toBe(1);
    expect(boxIoU(box(0, 0, 10, 10), box(10, 0, 10, 10))).toBe(0);
    expect(boxIoU(box(0, 0, 10, 10), box(50, 50, 10, 10))).toBe(0);
  });

  it('is intersection over union for partial overlap', () => {
    // Half a box of overlap: 50 / (100 + 100 - 50).
    expect(boxIoU(box(0, 0, 10, 10), box(5, 0, 10, 10))).toBeCloseTo(1 / 3, 12);
    // A box inside another: 25 / 100.
    expect(boxIoU(box(0, 0, 10, 10), box(2, 2, 5, 5))).toBeCloseTo(0.25, 12);
  });
});

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
