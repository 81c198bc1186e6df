/**
 * face-api's expression net exported to ONNX (models/fpnmaa/faceapi_net.py) run through the server's session factory,
 * on the crop the server's aligner cuts at face-api's geometry (RGB 0..255: mean 0, std 1/255). Its outputs are
 * already in the paper's class order.
 */
import { readFileSync } from 'node:fs';
import { Tensor } from 'onnxruntime-node';
import { createFaceAligner, type CropSpec, type FaceAligner, type SessionFactory } from '../../server/src/vision/index.ts';

export const FACEAPI_SIZE = 112;

export interface FaceApiOnnx {
  /** Cuts [N, 3, 112, 112] batches for predict(). */
  aligner: FaceAligner;
  /** Probabilities per face, paper order. */
  predict(crops: Float32Array, count: number): Promise<number[][]>;
  release(): Promise<void>;
}

export async function loadFaceApiOnnx(path: string, sessions: SessionFactory, crop: CropSpec): Promise<FaceApiOnnx> {
  const session = await sessions.create(readFileSync(path));
  const face = 3 * FACEAPI_SIZE * FACEAPI_SIZE;
  return {
    aligner: createFaceAligner({ inputSize: FACEAPI_SIZE, mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255], crop }),
    async predict(crops, count) {
      const input = new Tensor('float32', crops.subarray(0, count * face), [count, 3, FACEAPI_SIZE, FACEAPI_SIZE]);
      const probs = (await session.run({ input }, ['probs'])).probs!.data as Float32Array;
      return Array.from({ length: count }, (_, i) => Array.from(probs.subarray(i * 7, (i + 1) * 7)));
    },
    release: () => session.release(),
  };
}
