import { readFile } from 'node:fs/promises';
import { Tensor } from 'onnxruntime-node';
import { checkAffectContract, INPUT, OUTPUT_AU, OUTPUT_EXPR, OUTPUT_VA, type AffectModelInfo } from './affectContract.ts';
import { decodeAffect } from './decodeAffect.ts';
import { readOnnxMetadata } from './onnxMetadata.ts';
import type { SessionFactory } from './sessions.ts';
import type { AffectPrediction } from './types.ts';

export interface AffectModelOptions {
  /** Opens the model on the configured execution provider. */
  sessions: SessionFactory;
}

/** Milliseconds per stage of the last predict(); filled in when the caller passes one (the benchmark). */
export interface PredictTimings {
  infer: number;
  postprocess: number;
}

export interface AffectModel {
  /** What the model's metadata says: labels, crop, normalisation, name, version, provenance. */
  readonly info: AffectModelInfo;
  /**
   * Predicts `count` faces from an NCHW batch [count, 3, S, S] (what FaceAligner.align returns), one result per
   * face in order. One run for the whole batch: on GPU especially, N faces cost little more than one.
   */
  predict(crops: Float32Array, count: number, timings?: PredictTimings): Promise<AffectPrediction[]>;
  release(): Promise<void>;
}

/** Loads an affect model and checks it against the contract; refuses a non-conforming one with the reasons. */
export async function loadAffectModel(path: string, options: AffectModelOptions): Promise<AffectModel> {
  // One read serves both the metadata (which onnxruntime does not expose) and the session.
  const bytes = await readFile(path);
  const session = await options.sessions.create(bytes);
  let info: AffectModelInfo;
  try {
    info = checkAffectContract(path, session.inputMetadata, session.outputMetadata, readOnnxMetadata(bytes));
  } catch (err) {
    await session.release();
    throw err;
  }
  const faceLength = 3 * info.inputSize * info.inputSize;
  /** onnxruntime reads only private memory: a batch in shared memory (a vision worker's) is copied here first. */
  let privateBatch = new Float32Array(0);
  const readable = (batch: Float32Array): Float32Array => {
    if (!(batch.buffer instanceof SharedArrayBuffer)) return batch;
    if (privateBatch.length < batch.length) privateBatch = new Float32Array(batch.length);
    privateBatch.set(batch);
    return privateBatch.subarray(0, batch.length);
  };
  return {
    info,
    async predict(crops, count, timings) {
      if (count === 0) return [];
      if (crops.length < count * faceLength) {
        throw new RangeError(`predict: ${count} faces need ${count * faceLength} values, got ${crops.length}`);
      }
      const t0 = performance.now();
      const input = new Tensor('float32', readable(crops.subarray(0, count * faceLength)), [count, 3, info.inputSize, info.inputSize]);
      const out = await session.run({ [INPUT]: input }, [OUTPUT_VA, OUTPUT_EXPR, OUTPUT_AU]);
      const t1 = performance.now();
      const data = (name: string) => out[name]!.data as Float32Array;
      const result = decodeAffect(info, count, data(OUTPUT_VA), data(OUTPUT_EXPR), data(OUTPUT_AU));
      if (timings) {
        timings.infer = t1 - t0;
        timings.postprocess = performance.now() - t1;
      }
      return result;
    },
    release: () => session.release(),
  };
}
