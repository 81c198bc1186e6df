import type { AffectModel } from '../vision/AffectModel.ts';
import { createFaceAligner, type FaceInFrame } from '../vision/FaceAligner.ts';
import type { AffectPrediction } from '../vision/types.ts';
import { createMicroBatcher, type MicroBatcher, type MicroBatcherOptions } from './microBatch.ts';

/**
 * The affect model behind a micro-batcher shared by all streams: faces from any frame of any stream
 * are aligned into one tensor and inferred in one model call. One batch at a time, because the
 * aligner's tensor is reused and read by inference until it resolves.
 */
export function createAffectInference(
  model: AffectModel,
  options: Omit<MicroBatcherOptions, 'maxConcurrentBatches'>,
): MicroBatcher<FaceInFrame, AffectPrediction> {
  const aligner = createFaceAligner(model.info);
  return createMicroBatcher<FaceInFrame, AffectPrediction>(
    (faces) => model.predict(aligner.align(faces), faces.length),
    { ...options, maxConcurrentBatches: 1 },
  );
}
