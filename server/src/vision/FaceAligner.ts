import { alignedSquare, cropToFrame, type CropSpec } from './alignment.ts';
import { sampleAffine, type SampleTarget } from './sampleAffine.ts';
import type { FaceDetection, RgbImage } from './types.ts';

export interface FaceAlignerOptions {
  /** Crop side in pixels (the affect model's `affect.input_size`). */
  inputSize: number;
  /** RGB normalisation on pixel / 255 (the model's `affect.mean` / `affect.std`). */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** How the crop is cut (the model's `affect.crop`). */
  crop: CropSpec;
}

/** One face to crop: the frame it was found in and the detection. Faces of several frames can share a batch. */
export interface FaceInFrame {
  image: RgbImage;
  detection: FaceDetection;
}

export interface FaceAligner {
  /**
   * Crops the faces into one NCHW float batch [N, 3, S, S], in order. The result is a view of a buffer the aligner
   * reuses: it is valid until the next align() call (it grows to the largest batch seen, never shrinks). The buffer
   * is shared memory, so that a vision worker reads the batch where it lies instead of being sent a copy.
   */
  align(faces: readonly FaceInFrame[]): Float32Array;
}

export function createFaceAligner(options: FaceAlignerOptions): FaceAligner {
  const size = options.inputSize;
  const plane = size * size;
  let buffer = new Float32Array(new SharedArrayBuffer(0));
  return {
    align(faces) {
      const length = faces.length * 3 * plane;
      if (buffer.length < length) buffer = new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT));
      faces.forEach(({ image, detection }, n) => {
        const target: SampleTarget = {
          data: buffer,
          offset: n * 3 * plane,
          width: size,
          height: size,
          pixelStride: 1,
          channelStride: plane,
          mean: options.mean,
          std: options.std,
        };
        sampleAffine(image, cropToFrame(alignedSquare(detection.keypoints, options.crop), size), target);
      });
      return buffer.subarray(0, length);
    },
  };
}
