import { fileURLToPath } from 'node:url';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { blazeFaceAnchors } from './anchors.ts';
import { decodeBlazeFace } from './decodeBlazeFace.ts';
import { noTimings, type BlazeFaceModel, type DetectTimings, type FaceDetectorOptions } from './FaceDetectorTypes.ts';
import { letterbox, letterboxToFrame } from './letterbox.ts';
import { sampleAffine, type Affine, type SampleTarget } from './sampleAffine.ts';
import { serialized } from './serialized.ts';
import type { Box, FaceDetection, RgbImage } from './types.ts';
import { weightedNms } from './weightedNms.ts';

export type { BlazeFaceModel, DetectTimings, FaceDetectorOptions } from './FaceDetectorTypes.ts';

export interface FaceDetector {
  readonly model: BlazeFaceModel;
  /** Side of the model's square input, in pixels. */
  readonly inputSize: number;
  /** Faces in frame pixels, best score first. Calls are queued: one input buffer is reused across frames. */
  detect(image: RgbImage, timings?: DetectTimings): Promise<FaceDetection[]>;
  /**
   * For each square region of the frame (frame pixels; it may run past the edges, which count as black), the face
   * the region model finds nearest the region's centre, in frame pixels, or null. Each region is scaled to the
   * region model's input: a face that fills a good part of its region is found whatever its size in the frame.
   */
  detectRegions(image: RgbImage, regions: readonly Box[], timings?: DetectTimings): Promise<(FaceDetection | null)[]>;
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

/** One BlazeFace session with its reused input tensor. */
interface Blaze {
  session: InferenceSession;
  size: number;
  feed: Record<string, Tensor>;
  target: SampleTarget;
}

async function openBlaze(options: FaceDetectorOptions, path: string): Promise<Blaze> {
  const session = await options.sessions.create(path);
  const size = checkedInputSize(session);
  const input = new Float32Array(size * size * 3);
  // BlazeFace wants RGB in [-1, 1]: (p / 255 - 0.5) / 0.5. Padding (black) becomes -1.
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
  return { session, size, feed: { [INPUT]: new Tensor('float32', input, [1, size, size, 3]) }, target };
}

export async function createFaceDetector(options: FaceDetectorOptions): Promise<FaceDetector> {
  const model = options.model ?? 'back256';
  const regionModel = options.regionModel ?? 'front128';
  const minScore = options.minScore ?? 0.5;
  const iouThreshold = options.iouThreshold ?? 0.3;
  const anchors = blazeFaceAnchors();
  const full = await openBlaze(options, options.modelPath ?? blazeFaceModelPath(model));
  const region = regionModel === model && !options.modelPath ? full : await openBlaze(options, blazeFaceModelPath(regionModel));

  /** Runs `blaze` on the part of `image` that `toFrame` (its square pixels -> frame pixels) shows; adds to `timings`. */
  async function facesIn(blaze: Blaze, image: RgbImage, toFrame: Affine, timings: DetectTimings): Promise<FaceDetection[]> {
    const t0 = performance.now();
    sampleAffine(image, toFrame, blaze.target);
    const t1 = performance.now();
    const out = await blaze.session.run(blaze.feed);
    const t2 = performance.now();
    const data = (names: string[]) => names.map((n) => out[n]!.data as Float32Array);
    const candidates = decodeBlazeFace(data(SCORES), data(REGRESSORS), anchors, blaze.size, minScore);
    const faces = weightedNms(candidates, iouThreshold).map((f) => inFrame(toFrame, blaze.size, f));
    timings.letterbox += t1 - t0;
    timings.detect += t2 - t1;
    timings.decode += performance.now() - t2;
    return faces;
  }

  async function detectNow(image: RgbImage, timings: DetectTimings = noTimings()): Promise<FaceDetection[]> {
    Object.assign(timings, noTimings());
    return facesIn(full, image, letterboxToFrame(letterbox(image.width, image.height, full.size)), timings);
  }

  async function detectRegionsNow(
    image: RgbImage,
    regions: readonly Box[],
    timings: DetectTimings = noTimings(),
  ): Promise<(FaceDetection | null)[]> {
    Object.assign(timings, noTimings());
    const found: (FaceDetection | null)[] = [];
    for (const r of regions) {
      const scale = r.width / region.size;
      const faces = await facesIn(region, image, { a: scale, b: 0, c: 0, d: scale, tx: r.x, ty: r.y }, timings);
      found.push(nearest(faces, r.x + r.width / 2, r.y + r.height / 2));
    }
    return found;
  }

  return {
    model,
    inputSize: full.size,
    detect: serialized(detectNow),
    detectRegions: serialized(detectRegionsNow),
    release: async () => {
      await full.session.release();
      if (region !== full) await region.session.release();
    },
  };
}

/** The face whose box centre is nearest (x, y): in a region around one face, that face rather than a neighbour. */
function nearest(faces: readonly FaceDetection[], x: number, y: number): FaceDetection | null {
  let best: FaceDetection | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const f of faces) {
    const distance = Math.hypot(f.box.x + f.box.width / 2 - x, f.box.y + f.box.height / 2 - y);
    if (distance < bestDistance) [best, bestDistance] = [f, distance];
  }
  return best;
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

/**
 * A detection in fractions of the input square (what BlazeFace decodes to) -> frame pixels, through the map from
 * square pixels to frame pixels that filled the input (axis-aligned: a letterbox or a region).
 */
export function inFrame(toFrame: Affine, size: number, f: FaceDetection): FaceDetection {
  const x = (n: number) => toFrame.a * n * size + toFrame.tx;
  const y = (n: number) => toFrame.d * n * size + toFrame.ty;
  return {
    box: { x: x(f.box.x), y: y(f.box.y), width: toFrame.a * f.box.width * size, height: toFrame.d * f.box.height * size },
    keypoints: f.keypoints.map((p) => ({ x: x(p.x), y: y(p.y) })),
    score: f.score,
  };
}
