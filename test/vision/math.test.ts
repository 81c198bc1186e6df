import { describe, expect, it } from 'vitest';
import { ANCHOR_COUNT, blazeFaceAnchors } from '../../server/src/vision/anchors.ts';
import { inFrame } from '../../server/src/vision/FaceDetector.ts';
import { letterbox, letterboxToFrame } from '../../server/src/vision/letterbox.ts';
import { sampleAffine } from '../../server/src/vision/sampleAffine.ts';
import type { FaceDetection } from '../../server/src/vision/types.ts';
import { boxIoU } from '../../server/src/vision/boxIoU.ts';
import { weightedNms } from '../../server/src/vision/weightedNms.ts';

describe('anchors', () => {
  it('are 512 on a 16x16 grid (2 per cell) then 384 on an 8x8 grid (6 per cell)', () => {
    const a = blazeFaceAnchors();
    expect(a.length).toBe(ANCHOR_COUNT * 2);
    expect([a[0], a[1], a[2], a[3]]).toEqual([0.5 / 16, 0.5 / 16, 0.5 / 16, 0.5 / 16]);
    expect([a[4], a[5]]).toEqual([1.5 / 16, 0.5 / 16]);
    expect([a[511 * 2], a[511 * 2 + 1]]).toEqual([15.5 / 16, 15.5 / 16]);
    expect([a[512 * 2], a[512 * 2 + 1], a[517 * 2], a[518 * 2]]).toEqual([0.5 / 8, 0.5 / 8, 0.5 / 8, 1.5 / 8]);
    expect([a[895 * 2], a[895 * 2 + 1]]).toEqual([7.5 / 8, 7.5 / 8]);
  });
});

describe('letterbox', () => {
  it('centres a wide frame with equal bars above and below, and maps square points back', () => {
    const l = letterbox(1280, 720, 256);
    expect(l.scale).toBe(0.2);
    expect(l.padX).toBe(0);
    expect(l.padY).toBe(56);
    const m = letterboxToFrame(l);
    expect(m.a * 128 + m.tx).toBeCloseTo(640, 9);
    expect(m.d * 128 + m.ty).toBeCloseTo(360, 9);
    // A detection at the square's centre is at the frame's centre; the square's top-left corner is 280 px above the frame.
    const f = inFrame(m, 256, { box: { x: 0.5, y: 0, width: 0.25, height: 0.5 }, keypoints: [{ x: 0.5, y: 0.5 }], score: 0.9 });
    expect(f.keypoints[0]!.x).toBeCloseTo(640, 9);
    expect(f.keypoints[0]!.y).toBeCloseTo(360, 9);
    expect(f.box.y).toBeCloseTo(-280, 9);
    expect(f.box.width).toBeCloseTo(320, 9);
    expect(f.box.height).toBeCloseTo(640, 9);
    expect(f.score).toBe(0.9);
  });

  it('maps detections of a region (a square of the frame scaled to the input) back to the frame', () => {
    // A 300 px square at (100, 50) scaled onto a 128 px input.
    const f = inFrame({ a: 300 / 128, b: 0, c: 0, d: 300 / 128, tx: 100, ty: 50 }, 128, {
      box: { x: 0.25, y: 0.25, width: 0.5, height: 0.5 },
      keypoints: [],
      score: 1,
    });
    expect(f.box.x).toBeCloseTo(175, 9);
    expect(f.box.y).toBeCloseTo(125, 9);
    expect(f.box.width).toBeCloseTo(150, 9);
    expect(f.box.height).toBeCloseTo(150, 9);
  });
});

describe('sampleAffine', () => {
  const image = { width: 3, height: 2, pixels: Uint8Array.from({ length: 18 }, (_, i) => i * 10) };
  const raw = { mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] } as const;

  it('reproduces the pixels under the identity map (samples hit pixel centres)', () => {
    const data = new Float32Array(18);
    sampleAffine(image, { a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0 }, {
      data, offset: 0, width: 3, height: 2, pixelStride: 3, channelStride: 1, ...raw,
    });
    expect(Array.from(data, Math.round)).toEqual(Array.from(image.pixels));
  });

  it('interpolates between pixel centres, treats outside as black, and writes NCHW', () => {
    const data = new Float32Array(3 * 2);
    // Output pixel 0 samples x = 1.0 (between pixels 0 and 1), output pixel 1 samples x = -0.0 (half outside).
    sampleAffine(image, { a: -1, b: 0, c: 0, d: 1, tx: 1.5, ty: 0 }, {
      data, offset: 0, width: 2, height: 1, pixelStride: 1, channelStride: 2, ...raw,
    });
    // R at x=1.0: mean of pixel 0 (0) and pixel 1 (30); at x=0.0: half of pixel 0 (0) and half black.
    expect(Array.from(data, (v) => Math.round(v * 100) / 100)).toEqual([15, 0, 25, 5, 35, 10]);
  });
});

describe('weighted NMS', () => {
  const face = (x: number, score: number, kx: number): FaceDetection => ({
    box: { x, y: 0, width: 10, height: 10 },
    keypoints: [{ x: kx, y: 1 }],
    score,
  });

  it('merges overlapping candidates into their score-weighted mean with the best score', () => {
    const out = weightedNms([face(1, 0.6, 4), face(0, 0.9, 2), face(40, 0.7, 44)], 0.3);
    expect(out).toHaveLength(2);
    expect(out[0]!.score).toBe(0.9);
    expect(out[0]!.box.x).toBeCloseTo((0.9 * 0 + 0.6 * 1) / 1.5, 12);
    expect(out[0]!.box.width).toBeCloseTo(10, 12);
    expect(out[0]!.keypoints[0]!.x).toBeCloseTo((0.9 * 2 + 0.6 * 4) / 1.5, 12);
    expect(out[1]).toEqual(face(40, 0.7, 44));
  });

  it('keeps candidates overlapping no more than the threshold apart', () => {
    // Boxes 10 wide shifted by 5: IoU = 50 / 150 = 1/3.
    expect(boxIoU(face(0, 1, 0).box, face(5, 1, 0).box)).toBeCloseTo(1 / 3, 12);
    expect(weightedNms([face(0, 0.9, 0), face(5, 0.8, 0)], 0.34)).toHaveLength(2);
    expect(weightedNms([face(0, 0.9, 0), face(5, 0.8, 0)], 0.33)).toHaveLength(1);
  });
});

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
