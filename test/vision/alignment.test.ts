import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignedSquare, type CropSpec } from '../../server/src/vision/alignment.ts';
import { createFaceAligner } from '../../server/src/vision/FaceAligner.ts';
import { createFaceDetector, type FaceDetector } from '../../server/src/vision/FaceDetector.ts';
import { sampleAffine } from '../../server/src/vision/sampleAffine.ts';
import { createSessionFactory } from '../../server/src/vision/sessions.ts';
import type { FaceDetection, Point, RgbImage } from '../../server/src/vision/types.ts';
import { fixture, TEST_SESSIONS } from './fixtures.ts';
import { loadImage } from '../../models/scripts/image.ts';

interface Vectors {
  image: { width: number; height: number };
  crop: CropSpec;
  size: number;
  mean: [number, number, number];
  std: [number, number, number];
  cases: { name: string; keypoints: [number, number][]; centre: [number, number]; side: number; roll: number; crop: number[] }[];
}

// Written by test/vision/reference/alignment_vectors.py, the Python (training-side) implementation of the spec.
const vectors = JSON.parse(readFileSync(fixture('alignment-vectors.json'), 'utf8')) as Vectors;

/** The vectors' synthetic frame: R = (7x + 3y) mod 256, G = (5x + 11y) mod 256, B = (x * y) mod 256. */
function pattern(width: number, height: number): RgbImage {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      pixels[p] = (7 * x + 3 * y) % 256;
      pixels[p + 1] = (5 * x + 11 * y) % 256;
      pixels[p + 2] = (x * y) % 256;
    }
  }
  return { width, height, pixels };
}

const toPoints = (kps: [number, number][]): Point[] => kps.map(([x, y]) => ({ x, y }));
const detection = (keypoints: Point[]): FaceDetection => ({ box: { x: 0, y: 0, width: 1, height: 1 }, keypoints, score: 1 });

describe('alignment test vectors (docs/alignment.md) match the Python reference', () => {
  const image = pattern(vectors.image.width, vectors.image.height);
  const aligner = createFaceAligner({ inputSize: vectors.size, mean: vectors.mean, std: vectors.std, crop: vectors.crop });
  for (const c of vectors.cases) {
    it(c.name, () => {
      const sq = alignedSquare(toPoints(c.keypoints), vectors.crop);
      expect(sq.centre.x).toBeCloseTo(c.centre[0], 9);
      expect(sq.centre.y).toBeCloseTo(c.centre[1], 9);
      expect(sq.side).toBeCloseTo(c.side, 9);
      expect(sq.roll).toBeCloseTo(c.roll, 9);
      const crop = aligner.align([{ image, detection: detection(toPoints(c.keypoints)) }]);
      expect(crop.length).toBe(c.crop.length);
      const worst = c.crop.reduce((m, v, i) => Math.max(m, Math.abs(v - crop[i]!)), 0);
      expect(worst).toBeLessThan(1e-4);
    });
  }
});

/** Rotates an image about its centre by `degrees` (bilinear), onto a canvas big enough to keep the corners. */
function rotate(image: RgbImage, degrees: number): RgbImage {
  const t = (degrees * Math.PI) / 180;
  const side = Math.ceil(Math.hypot(image.width, image.height));
  const data = new Float32Array(side * side * 3);
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  // Output -> input: rotate by -t about the centres.
  const [cx, cy, ox] = [image.width / 2, image.height / 2, side / 2];
  sampleAffine(
    image,
    { a: cos, b: sin, c: -sin, d: cos, tx: cx - cos * ox - sin * ox, ty: cy + sin * ox - cos * ox },
    { data, offset: 0, width: side, height: side, pixelStride: 3, channelStride: 1, mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] },
  );
  return { width: side, height: side, pixels: Uint8Array.from(data, (v) => Math.round(v)) };
}

/** An NCHW crop whose values are raw 0..255 pixel values, back to RGB24. */
function cropToImage(crop: Float32Array, size: number): RgbImage {
  const pixels = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) pixels[i * 3 + c] = Math.round(crop[c * size * size + i]!);
  }
  return { width: size, height: size, pixels };
}

const rollDegrees = (f: FaceDetection) =>
  (Math.atan2(f.keypoints[1]!.y - f.keypoints[0]!.y, f.keypoints[1]!.x - f.keypoints[0]!.x) * 180) / Math.PI;

describe('aligned crops of a rotated face come out level', () => {
  const size = 128;
  const aligner = createFaceAligner({
    inputSize: size,
    mean: [0, 0, 0],
    std: [1 / 255, 1 / 255, 1 / 255],
    crop: { method: 'eyes-mouth-v1', scale: 3, shift: 0.5 },
  });
  let frameDetector: FaceDetector;
  let cropDetector: FaceDetector;
  beforeAll(async () => {
    const sessions = createSessionFactory(TEST_SESSIONS);
    frameDetector = await createFaceDetector({ sessions, model: 'back256' });
    // The crop is close framing: what the short-range model is for, and it is independent of the frame detector.
    cropDetector = await createFaceDetector({ sessions, model: 'front128' });
  });

  it.each([-20, 0, 20])('rotated %d degrees', async (degrees) => {
    const astronaut = loadImage(fixture('astronaut.png'));
    const [upright] = await frameDetector.detect(astronaut);
    const frame = rotate(astronaut, degrees);
    const faces = await frameDetector.detect(frame);
    expect(faces).toHaveLength(1);
    // The detector sees the rotation: the face turned by `degrees` (clockwise on screen, as image y points down).
    expect(Math.abs(rollDegrees(faces[0]!) - rollDegrees(upright!) - degrees)).toBeLessThan(3);
    const crop = aligner.align([{ image: frame, detection: faces[0]! }]);
    const inCrop = await cropDetector.detect(cropToImage(crop, size));
    expect(inCrop).toHaveLength(1);
    expect(Math.abs(rollDegrees(inCrop[0]!))).toBeLessThan(2);
  });
});
