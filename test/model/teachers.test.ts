import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFaceDetector, createSessionFactory } from '../../server/src/vision/index.ts';
import { loadImage } from '../../models/scripts/image.ts';
import {
  cropHWC,
  emotionInput,
  FACEAPI_ORDER,
  HUMAN_EMOTION_ORDER,
  loadTeachers,
  PAPER_EXPRESSIONS,
  teacherPaths,
  teachersAvailable,
  TEACHER_CROPS,
  toPaper,
  type Teachers,
} from '../../models/scripts/teachers.ts';
import type { FaceDetection, RgbImage } from '../../server/src/vision/types.ts';

// Teacher outputs committed by models/scripts/teacher-reference.ts (original tfjs graphs/weights, wasm backend).
const reference = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/teacher-reference.json', import.meta.url)), 'utf8'));
// The teacher packages (npm pack, ~160 MB, not dependencies) live in models/cache (gitignored; inside the repo so
// face-api finds the project's tfjs), fetched on first use by models/scripts/fetch-teachers.sh.
const cache = fileURLToPath(new URL('../../models/cache', import.meta.url));
if (!teachersAvailable(cache)) {
  execFileSync(fileURLToPath(new URL('../../models/scripts/fetch-teachers.sh', import.meta.url)), [cache], { stdio: 'inherit' });
}
const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);

const faces: { name: string; image: RgbImage; detection: FaceDetection }[] = [];
beforeAll(async () => {
  const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });
  const detector = await createFaceDetector({ sessions });
  for (const f of reference.faces) {
    const image = loadImage(fileURLToPath(new URL(`../fixtures/${f.fixture}`, import.meta.url)));
    faces.push({ name: f.fixture, image, detection: (await detector.detect(image))[0]! });
  }
  await detector.release();
});

const cropsOf = (image: RgbImage, detection: FaceDetection) => ({
  emotion: cropHWC(image, detection, TEACHER_CROPS.emotion.size, TEACHER_CROPS.emotion.crop),
  faceapi: cropHWC(image, detection, TEACHER_CROPS.faceapi.size, TEACHER_CROPS.faceapi.crop),
  mesh: cropHWC(image, detection, TEACHER_CROPS.mesh.size, TEACHER_CROPS.mesh.crop),
});

describe('teacher pre-processing and label mapping', () => {
  it('cuts the same teacher crops as when the reference was made', () => {
    faces.forEach(({ image, detection }, i) => {
      const c = cropsOf(image, detection);
      const ref = reference.faces[i].cropSums;
      expect(sum(emotionInput(c.emotion))).toBeCloseTo(ref.emotionInput, 1);
      expect(sum(c.faceapi) / ref.faceapi).toBeCloseTo(1, 6);
      expect(sum(c.mesh) / ref.mesh).toBeCloseTo(1, 6);
    });
  });

  it("maps both teachers' label orders onto the paper's 7 classes", () => {
    const paper = PAPER_EXPRESSIONS.map((s) => s.toLowerCase());
    const alias: Record<string, string> = { angry: 'anger', happy: 'happiness', sad: 'sadness', fearful: 'fear', disgusted: 'disgust', surprised: 'surprise' };
    for (const order of [HUMAN_EMOTION_ORDER, FACEAPI_ORDER]) {
      const map = order.map((l) => paper.indexOf(alias[l] ?? l));
      expect([...map].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
      const oneHot = (k: number) => order.map((_, j) => (j === k ? 1 : 0));
      order.forEach((_, k) => {
        const p = toPaper(oneHot(k), order === HUMAN_EMOTION_ORDER ? [1, 2, 3, 4, 5, 6, 0] : [0, 4, 5, 1, 3, 2, 6]);
        expect(p.indexOf(1)).toBe(map[k]);
      });
    }
  });

  it('the reference says Happiness for the smiling astronaut (both teachers)', () => {
    const astro = reference.faces.find((f: { fixture: string }) => f.fixture === 'astronaut.png');
    expect(PAPER_EXPRESSIONS[astro.emotion.indexOf(Math.max(...astro.emotion))]).toBe('Happiness');
    expect(PAPER_EXPRESSIONS[astro.faceapi.indexOf(Math.max(...astro.faceapi))]).toBe('Happiness');
  });
});

describe('teachers (tfjs originals) reproduce the committed reference', () => {
  let teachers: Teachers;
  beforeAll(async () => {
    teachers = await loadTeachers(cache);
  }, 120_000);

  it('expression probabilities within 1e-4, mesh within 0.05 px', async () => {
    for (const [i, { image, detection }] of faces.entries()) {
      const r = await teachers.run([cropsOf(image, detection)]);
      const ref = reference.faces[i];
      r.emotion[0]!.forEach((p, k) => expect(Math.abs(p - ref.emotion[k])).toBeLessThan(1e-4));
      r.faceapi[0]!.forEach((p, k) => expect(Math.abs(p - ref.faceapi[k])).toBeLessThan(1e-4));
      ref.meshSample.forEach((xyz: number[], j: number) =>
        xyz.forEach((v, d) => expect(Math.abs(r.mesh[0]![j * 20 * 3 + d]! - v)).toBeLessThan(0.05)),
      );
    }
  });

  it("the batch runner's face-api mapping equals face-api's own named predictExpressions", async () => {
    const require = createRequire(import.meta.url);
    const faceapi = require(resolve(teacherPaths(cache).faceapiDist));
    for (const { image, detection } of faces) {
      const c = cropsOf(image, detection);
      const named = await faceapi.nets.faceExpressionNet.predictExpressions(tf.tensor3d(c.faceapi, [112, 112, 3]));
      const r = await teachers.run([c]);
      const byName = [named.neutral, named.angry, named.disgusted, named.fearful, named.happy, named.sad, named.surprised];
      byName.forEach((p: number, k: number) => expect(Math.abs(p - r.faceapi[0]![k]!)).toBeLessThan(1e-5));
    }
  });
});
