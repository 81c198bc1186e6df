/**
 * Writes test/model/fixtures/teacher-reference.json: the tfjs teachers' outputs on the public-domain fixtures
 * (test/fixtures/astronaut.png, grace_hopper.jpg), faces found by the server's detector, teacher crops cut by the
 * server's aligner. test/model/teachers.test.ts recomputes them (when the teacher packages are in models/cache).
 * Also writes test/model/fixtures/fixture-crops128.u8, the same faces' stored training crops (2 x 128 x 128 x 3): the
 * blendshape teacher's input for its reference (`python -m fpnmaa.blendshapes --reference`, checked by selftest).
 *   npx tsx models/scripts/teacher-reference.ts [models/cache]
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFaceDetector, createSessionFactory } from '../../server/src/vision/index.ts';
import { loadImage } from './image.ts';
import { storedCrop } from './storedCrop.ts';
import { cropHWC, emotionInput, loadTeachers, TEACHER_CROPS } from './teachers.ts';

const cache = process.argv[2] ?? 'models/cache';
const fixtures = ['astronaut.png', 'grace_hopper.jpg'];
const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });
const detector = await createFaceDetector({ sessions });
const teachers = await loadTeachers(cache);
const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
const out: unknown[] = [];
const stored: Uint8Array[] = [];
for (const name of fixtures) {
  const image = loadImage(fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url)));
  const [detection] = await detector.detect(image);
  if (!detection) throw new Error(`no face in ${name}`);
  const crops = {
    emotion: cropHWC(image, detection, TEACHER_CROPS.emotion.size, TEACHER_CROPS.emotion.crop),
    faceapi: cropHWC(image, detection, TEACHER_CROPS.faceapi.size, TEACHER_CROPS.faceapi.crop),
    mesh: cropHWC(image, detection, TEACHER_CROPS.mesh.size, TEACHER_CROPS.mesh.crop),
  };
  stored.push(storedCrop(image, detection));
  const r = await teachers.run([crops]);
  const mesh = r.mesh[0]!;
  out.push({
    fixture: name,
    cropSums: { emotionInput: sum(emotionInput(crops.emotion)), faceapi: sum(crops.faceapi), mesh: sum(crops.mesh) },
    emotion: r.emotion[0],
    faceapi: r.faceapi[0],
    meshConfidence: r.meshConfidence[0],
    // every 20th landmark (x, y, z in 192-px crop pixels)
    meshSample: Array.from({ length: 24 }, (_, i) => Array.from(mesh.subarray(i * 20 * 3, i * 20 * 3 + 3))),
  });
}
const path = fileURLToPath(new URL('../../test/model/fixtures/teacher-reference.json', import.meta.url));
writeFileSync(path, JSON.stringify({ comment: 'written by models/scripts/teacher-reference.ts; expression probs in paper order: Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise', faces: out }, null, 1) + '\n');
console.log(`wrote ${path}`);
writeFileSync(fileURLToPath(new URL('../../test/model/fixtures/fixture-crops128.u8', import.meta.url)), Buffer.concat(stored));
await detector.release();
