/**
 * More views of every face for the teachers, after make-crops.ts (same detections, same aligner):
 *   teachers-s<S>.f32   N x 14: emotion (7) + face-api (7) probabilities, paper order, expression crops at scale S
 *                       (the teachers are markedly better on looser crops than make-crops' 2.0; MODEL_CARD.md)
 *   mesh-mirror.f32     N x 1404: the face mesh of the *mirrored* mesh crop (scale 2.4). The mesh of a mirror image
 *                       is a valid mesh of a mirrored face (each index still the same anatomical point) and every AU
 *                       feature is a left/right average, so it estimates the same AUs: averaging the two views
 *                       halves part of the mesh model's noise (fpnmaa/prepare.py --mirror-mesh).
 *   retest.json + retest-mesh.f32   for every K-th labelled face, the mesh at another crop scale (2.6), plain and
 *                       mirrored: an independent second measurement, for the AU teacher's test-retest agreement
 *                       (fpnmaa/au_retest.py), the ceiling for any student's AU F1 against it.
 * FER+ faces (make-crops.ts --ferplus) get the expression views only: their mirror-mesh rows stay zero (the mesh AU
 * teacher is not run on them; their AU teacher is the blendshape one, fpnmaa/blendshapes.py).
 * Resumable: a re-run continues after the last face recorded in views-progress.json (also when faces were added).
 *   npx tsx models/scripts/teacher-views.ts --data DATA --crops models/cache/crops [--teachers models/cache]
 *       [--ferplus FERPLUS_DIR] [--expr-scale 2.8] [--retest-every 5]
 */
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CropSpec } from '../../server/src/vision/alignment.ts';
import type { FaceDetection, RgbImage } from '../../server/src/vision/types.ts';
import { FERPLUS_FRAME, framed, loadImage } from './image.ts';
import { mirrorHWC as mirror } from './mirror.ts';
import { cropHWC, loadTeachers, TEACHER_CROPS } from './teachers.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    crops: { type: 'string', default: 'models/cache/crops' },
    teachers: { type: 'string', default: 'models/cache' },
    extra: { type: 'string', default: '' },
    ferplus: { type: 'string', default: '' },
    'expr-scale': { type: 'string', default: '2.8' },
    'retest-every': { type: 'string', default: '5' },
    'retest-scale': { type: 'string', default: '2.6' },
  },
});
if (!values.data) throw new Error('usage: teacher-views.ts --data DIR [--crops DIR]');
const exprScale = Number(values['expr-scale']);
const every = Number(values['retest-every']);
const S = TEACHER_CROPS.mesh.size;
const withScale = (crop: CropSpec, scale: number): CropSpec => ({ ...crop, scale });

interface Face { source: string; file: string; keypoints: [number, number][] }
const dirs: Record<string, string> = {
  expressions: join(values.data, 'expressions/images'),
  faces: join(values.data, 'faces'),
  extra: values.extra!,
  ferplus: values.ferplus!,
};
const faces = readFileSync(join(values.crops!, 'faces.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Face);
const teachers = await loadTeachers(values.teachers!);

const meshOf = async (crop: Float32Array) =>
  (await teachers.run([{ emotion: new Float32Array(64 * 64 * 3), faceapi: new Float32Array(112 * 112 * 3), mesh: crop }])).mesh[0]!;

const exprPath = join(values.crops!, `teachers-s${exprScale}.f32`);
const mirrorPath = join(values.crops!, 'mesh-mirror.f32');
const retestPath = join(values.crops!, 'retest-mesh.f32');
// Resumable: progress.json-like bookkeeping in views-progress.json; files are cut back to the last recorded face
// (a face's rows are appended to three files, so an interruption can leave one ahead of the others).
const progressPath = join(values.crops!, 'views-progress.json');
const resume = existsSync(progressPath)
  ? (JSON.parse(readFileSync(progressPath, 'utf8')) as { next: number; retestIndex: number[]; exprScale: number })
  : undefined;
if (resume && resume.exprScale !== exprScale) throw new Error(`${progressPath} is for expression scale ${resume.exprScale}: remove it to start over`);
const start = resume?.next ?? 0;
const retestIndex: number[] = resume?.retestIndex ?? [];
for (const [p, bytes] of [[exprPath, start * 14 * 4], [mirrorPath, start * 1404 * 4], [retestPath, retestIndex.length * 2 * 1404 * 4]] as const) {
  if (resume) truncateSync(p, bytes);
  else writeFileSync(p, '');
}
const saveProgress = (next: number) => writeFileSync(progressPath, JSON.stringify({ next, retestIndex, exprScale }));
const t0 = Date.now();
let lastImage: { path: string; image: RgbImage } | undefined;
for (let i = start; i < faces.length; i++) {
  const f = faces[i]!;
  if (!dirs[f.source]) throw new Error(`face ${i}: no directory for source ${f.source} (pass --extra / --ferplus)`);
  const path = join(dirs[f.source]!, f.file);
  // Photos hold several faces, consecutive in faces.jsonl: load each image once.
  if (lastImage?.path !== path) lastImage = { path, image: f.source === 'ferplus' ? framed(loadImage(path), FERPLUS_FRAME) : loadImage(path) };
  const image = lastImage.image;
  const detection: FaceDetection = { box: { x: 0, y: 0, width: 0, height: 0 }, keypoints: f.keypoints.map(([x, y]) => ({ x, y })), score: 1 };
  const ex = await teachers.runExpression([
    { emotion: cropHWC(image, detection, 64, withScale(TEACHER_CROPS.emotion.crop, exprScale)), faceapi: cropHWC(image, detection, 112, withScale(TEACHER_CROPS.faceapi.crop, exprScale)) },
  ]);
  appendFileSync(exprPath, Buffer.from(Float32Array.from([...ex.emotion[0]!, ...ex.faceapi[0]!]).buffer));
  const meshCrop = cropHWC(image, detection, S, TEACHER_CROPS.mesh.crop);
  const mirrored = f.source === 'ferplus' ? new Float32Array(1404) : await meshOf(mirror(meshCrop, S));
  appendFileSync(mirrorPath, Buffer.from(mirrored.buffer));
  if (f.source === 'expressions' && i % every === 0) {
    const other = cropHWC(image, detection, S, withScale(TEACHER_CROPS.mesh.crop, Number(values['retest-scale'])));
    appendFileSync(retestPath, Buffer.from((await meshOf(other)).buffer));
    appendFileSync(retestPath, Buffer.from((await meshOf(mirror(other, S))).buffer));
    retestIndex.push(i);
  }
  if ((i + 1) % 100 === 0) saveProgress(i + 1);
  if ((i + 1) % 1000 === 0) console.log(`${i + 1}/${faces.length} faces, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
saveProgress(faces.length);
writeFileSync(join(values.crops!, 'retest.json'), JSON.stringify({ scale: Number(values['retest-scale']), every, index: retestIndex }));
console.log(`done: ${faces.length} faces in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
