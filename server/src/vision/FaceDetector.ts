import { fileURLToPath } from 'node:url';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { blazeFaceAnchors } from './anchors.ts';
import { decodeBlazeFace } from './decodeBlazeFace.ts';
import type { BlazeFaceModel, DetectTimings, FaceDetectorOptions } from './FaceDetectorTypes.ts';
import { letterbox, letterboxToFrame, unletterboxX, unletterboxY, type Letterbox } from './letterbox.ts';
import { sampleAffine, type SampleTarget } from './sampleAffine.ts';
import { serialized } from './serialized.ts';
import type { FaceDetection, RgbImage } from './types.ts';
import { weightedNms } from './weightedNms.ts';

export type { BlazeFaceModel, DetectTimings, FaceDetectorOptions } from './FaceDetectorTypes.ts';

export interface FaceDetector {
  readonly model: BlazeFaceModel;
  /** Side of the model's square input, in pixels. */
  readonly inputSize: number;
  /** Faces in frame pixels, best score first. Calls are queued: one input buffer is reused across frames. */
  detect(image: RgbImage, timings?: DetectTimings): Promise<FaceDetection[]>;
  release(): Promise<void>;
}

const MODEL_FILES: Record<BlazeFaceModel, string> = {
  front128: 'face_detection_front_128x128_barracuda.onnx',
  back256: 'face_detection_back_256x256_barracuda.onnx',
};

/** The vendored file for a model, found from this module so the working directory does not matter. */
export function blazeFaceModelPath(model: BlazeFaceModel): string {
  return fileURLToPath(new URL(`../../../models/blazeface/${MODEL_FILES[model]}`, import.meta.url));
}

const INPUT = 'input:0';
const SCORES = ['Identity:0', 'Identity_1:0'];
const REGRESSORS = ['Identity_2:0', 'Identity_3:0'];

export async function createFaceDetector(options: FaceDetectorOptions): Promise<FaceDetector> {
  const model = options.model ?? 'back256';
  const minScore = options.minScore ?? 0.5;
  const iouThreshold = options.iouThreshold ?? 0.3;
  const session = await options.sessions.create(options.modelPath ?? blazeFaceModelPath(model));
  const size = checkedInputSize(session);
  const anchors = blazeFaceAnchors();
  const input = new Float32Array(size * size * 3);
  const feed = { [INPUT]: new Tensor('float32', input, [1, size, size, 3]) };
  // BlazeFace wants RGB in [-1, 1]: (p / 255 - 0.5) / 0.5. The letterbox padding (black) becomes -1.
  const target: SampleTarget = {
    data: input,
    offset: 0,
    width: size,
    height: size,
    pixelStride: 3,
    channelStride: 1,
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
  };

  async function detectNow(image: RgbImage, timings?: DetectTimings): Promise<FaceDetection[]> {
    const t0 = performance.now();
    const lb = letterbox(image.width, image.height, size);
    sampleAffine(image, letterboxToFrame(lb), target);
    const t1 = performance.now();
    const out = await session.run(feed);
    const t2 = performance.now();
    const data = (names: string[]) => names.map((n) => out[n]!.data as Float32Array);
    const candidates = decodeBlazeFace(data(SCORES), data(REGRESSORS), anchors, size, minScore);
    const faces = weightedNms(candidates, iouThreshold).map((f) => toFrame(lb, f));
    if (timings) {
      timings.letterbox = t1 - t0;
      timings.detect = t2 - t1;
      timings.decode = performance.now() - t2;
    }
    return faces;
  }

  return {
    model,
    inputSize: size,
    detect: serialized(detectNow),
    release: () => session.release(),
  };
}

/** The square side, read from the model itself; also refuses a file that is not a BlazeFace export. */
function checkedInputSize(session: InferenceSession): number {
  const meta = session.inputMetadata[0];
  const shape = meta?.isTensor ? meta.shape : [];
  const size = shape[1];
  const names = [...SCORES, ...REGRESSORS];
  if (
    meta?.name !== INPUT ||
    typeof size !== 'number' ||
    shape.length !== 4 ||
    shape[2] !== size ||
    shape[3] !== 3 ||
    !names.every((n) => session.outputNames.includes(n))
  ) {
    throw new Error(
      `not a BlazeFace model: expected input ${INPUT} [1,S,S,3] and outputs ${names.join(', ')}; ` +
        `got input ${meta?.name} [${shape.join(',')}] and outputs ${session.outputNames.join(', ')}`,
    );
  }
  return size;
}

function toFrame(lb: Letterbox, f: FaceDetection): FaceDetection {
  const x = unletterboxX(lb, f.box.x);
  const y = unletterboxY(lb, f.box.y);
  return {
    box: {
      x,
      y,
      width: unletterboxX(lb, f.box.x + f.box.width) - x,
      height: unletterboxY(lb, f.box.y + f.box.height) - y,
    },
    keypoints: f.keypoints.map((p) => ({ x: unletterboxX(lb, p.x), y: unletterboxY(lb, p.y) })),
    score: f.score,
  };
}
