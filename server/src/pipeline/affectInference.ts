import type { AffectModel, PredictTimings } from '../vision/AffectModel.ts';
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
  options: Omit<MicroBatcherOptions, 'maxConcurrentBatches'> & {
    /** Each batch's own cost, ms: alignment plus the model's reported run (in a vision worker: not the wait for it). */
    onWork?: (ms: number) => void;
  },
): MicroBatcher<FaceInFrame, AffectPrediction> {
  const { onWork, ...batching } = options;
  const aligner = createFaceAligner(model.info);
  return createMicroBatcher<FaceInFrame, AffectPrediction>(
    async (faces) => {
      const t0 = performance.now();
      const crops = aligner.align(faces);
      const alignMs = performance.now() - t0;
      const timings: PredictTimings = { infer: 0, postprocess: 0 };
      const predictions = await model.predict(crops, faces.length, timings);
      onWork?.(alignMs + timings.infer + timings.postprocess);
      return predictions;
    },
    { ...batching, maxConcurrentBatches: 1 },
  );
}
