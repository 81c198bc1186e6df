import type { AffectModel } from './AffectModel.ts';
import { createFaceAligner } from './FaceAligner.ts';
import type { FaceDetector } from './FaceDetector.ts';
import { serialized } from './serialized.ts';
import type { AnalyzedFace, RgbImage } from './types.ts';

export interface FaceAnalyzerOptions {
  detector: FaceDetector;
  affectModel: AffectModel;
}

export interface FaceAnalyzer {
  /** Faces in the frame with box, keypoints, detection score and affect, best detection first. */
  analyze(image: RgbImage): Promise<AnalyzedFace[]>;
}

/**
 * Frame in, faces with affect out: detect, crop each face the way the model's metadata says, one batched
 * inference. The crop spec and normalisation come from the model, so a new model needs no code change.
 */
export function createFaceAnalyzer(options: FaceAnalyzerOptions): FaceAnalyzer {
  const { detector, affectModel } = options;
  const aligner = createFaceAligner(affectModel.info);
  return {
    // Serialized: the aligner's batch buffer is reused, and inference reads it until predict() resolves.
    analyze: serialized(async (image: RgbImage) => {
      const detections = await detector.detect(image);
      const crops = aligner.align(detections.map((detection) => ({ image, detection })));
      const affect = await affectModel.predict(crops, detections.length);
      return detections.map((detection, i) => ({ detection, affect: affect[i]! }));
    }),
  };
}
