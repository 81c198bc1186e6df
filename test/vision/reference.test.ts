import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createFaceDetector, type BlazeFaceModel } from '../../server/src/vision/FaceDetector.ts';
import { createSessionFactory } from '../../server/src/vision/sessions.ts';
import { fixture, TEST_SESSIONS } from './fixtures.ts';
import { loadImage } from '../../models/scripts/image.ts';

interface ReferenceFace {
  score: number;
  box: [number, number, number, number];
  keypoints: [number, number][];
}
interface Reference {
  minScore: number;
  iouThreshold: number;
  images: Record<string, Record<BlazeFaceModel, ReferenceFace[]>>;
}

// Written by test/vision/reference/blazeface_reference.py (numpy + Python onnxruntime, same model files).
const reference = JSON.parse(readFileSync(fixture('blazeface-reference.json'), 'utf8')) as Reference;

describe('detector against the independent Python reference', () => {
  const sessions = createSessionFactory(TEST_SESSIONS);
  for (const [image, models] of Object.entries(reference.images)) {
    for (const [model, expected] of Object.entries(models) as [BlazeFaceModel, ReferenceFace[]][]) {
      it(`${model} on ${image}: ${expected.length} faces, same boxes, keypoints and scores`, async () => {
        const detector = await createFaceDetector({
          sessions,
          model,
          minScore: reference.minScore,
          iouThreshold: reference.iouThreshold,
        });
        const faces = await detector.detect(loadImage(fixture(image)));
        await detector.release();
        expect(faces).toHaveLength(expected.length);
        faces.forEach((face, i) => {
          const ref = expected[i]!;
          // float32 tensors on both sides; what differs is summation order in the resampling (~1e-6 of a pixel
          // value), so a hundredth of a pixel is already generous.
          expect(face.score).toBeCloseTo(ref.score, 4);
          [face.box.x, face.box.y, face.box.width, face.box.height].forEach((v, k) =>
            expect(Math.abs(v - ref.box[k]!)).toBeLessThan(0.01),
          );
          face.keypoints.forEach((p, k) => {
            expect(Math.abs(p.x - ref.keypoints[k]![0])).toBeLessThan(0.01);
            expect(Math.abs(p.y - ref.keypoints[k]![1])).toBeLessThan(0.01);
          });
        });
      });
    }
  }
});
