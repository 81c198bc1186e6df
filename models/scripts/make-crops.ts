/**
 * Cuts training crops with the server's own detector and aligner, and labels every face with the tfjs teachers.
 *
 *   npx tsx models/scripts/make-crops.ts --data <dir with expressions/ and faces/> --out models/cache/crops \
 *       [--teachers models/cache] [--extra <dir of images>]... [--ferplus <dir with labels.csv, images/>] [--limit N]
 *
 * FER+ faces (48 px gray, cropped edge to edge) come last: each image is padded by its own side on every side (edge
 * pixels repeated) and scaled to 256 px, which the detector reads like a frame with one face in it. Their records
 * carry the 10 annotator votes (`votes`, labels.csv's column order) and FER's split (`split`: train or valid).
 *
 * Writes into --out:
 *   faces.jsonl        one record per face: source, file, label, contributor, detection score, keypoints, ...
 *   crops128.u8        N x 128 x 128 x 3 uint8: eyes-mouth-v1 crops, scale 3*128/112, shift 0.5. The centre 112x112
 *                      is exactly the served crop (scale 3, shift 0.5, 112 px: same pixel pitch); the margin is room
 *                      for translation augmentation.
 *   teachers.f32       N x (7 emotion + 7 face-api + 1 mesh confidence) float32, expression probs in paper order
 *   mesh.f32           N x 1404 float32 (468 x xyz in the 192-px mesh crop)
 * Resumable: an existing out dir is continued from the number of records already in faces.jsonl.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFaceDetector, createSessionFactory } from '../../server/src/vision/index.ts';
import type { FaceDetection } from '../../server/src/vision/types.ts';
import { FERPLUS_FRAME, framed, loadImage } from './image.ts';
import { expressionImages, ferplusImages, type LabelledImage } from './labelledImages.ts';
import { storedCrop } from './storedCrop.ts';
import { cropHWC, loadTeachers, TEACHER_CROPS } from './teachers.ts';


const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    out: { type: 'string' },
    teachers: { type: 'string', default: 'models/cache' },
    extra: { type: 'string', multiple: true, default: [] },
    ferplus: { type: 'string' },
    limit: { type: 'string' },
    batch: { type: 'string', default: '16' },
  },
});
if (!values.data || !values.out) throw new Error('usage: make-crops.ts --data DIR --out DIR');

const items: LabelledImage[] = expressionImages(values.data);
const isImage = (f: string) => /\.(jpe?g|png)$/i.test(f);
for (const dir of [join(values.data, 'faces'), ...values.extra]) {
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).sort()) {
    if (!isImage(f) || !statSync(join(dir, f)).isFile()) continue;
    items.push({ source: dir === join(values.data, 'faces') ? 'faces' : 'extra', file: f, path: join(dir, f), label: '', contributor: '' });
  }
}
if (values.ferplus) items.push(...ferplusImages(values.ferplus));
const limit = values.limit ? Number(values.limit) : items.length;

mkdirSync(values.out, { recursive: true });
const metaPath = join(values.out, 'faces.jsonl');
const progressPath = join(values.out, 'progress.json');
let startItem = 0;
if (existsSync(progressPath)) startItem = JSON.parse(readFileSync(progressPath, 'utf8')).nextItem;
else for (const f of ['faces.jsonl', 'crops128.u8', 'teachers.f32', 'mesh.f32']) writeFileSync(join(values.out, f), '');

const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });
const front = await createFaceDetector({ sessions, model: 'front128' });
const back = await createFaceDetector({ sessions, model: 'back256' });
const teachers = await loadTeachers(values.teachers);
const batchSize = Number(values.batch);

interface Pending {
  item: LabelledImage;
  detection: FaceDetection;
  faceIndex: number;
  detector: string;
  store: Uint8Array;
  /** Absent for FER+ faces: the old mesh AU teacher is not run on them (its rows stay zero, mesh confidence 0), and
   * their expression teacher comes from teacher-views.ts at its own crop scale. */
  crops?: { emotion: Float32Array; faceapi: Float32Array; mesh: Float32Array };
}
let pending: Pending[] = [];
let faces = 0;
let noFace = 0;

async function flush(nextItem: number) {
  if (pending.length > 0) {
    const taught = pending.filter((p) => p.crops);
    const out = taught.length > 0 ? await teachers.run(taught.map((p) => p.crops!)) : undefined;
    const t = new Float32Array(pending.length * 15);
    const m = new Float32Array(pending.length * 1404);
    const lines: string[] = [];
    pending.forEach((p, i) => {
      const j = taught.indexOf(p);
      if (out && j >= 0) {
        t.set(out.emotion[j]!, i * 15);
        t.set(out.faceapi[j]!, i * 15 + 7);
        t[i * 15 + 14] = out.meshConfidence[j]!;
        m.set(out.mesh[j]!, i * 1404);
      }
      lines.push(
        JSON.stringify({
          source: p.item.source,
          file: p.item.file,
          label: p.item.label,
          contributor: p.item.contributor,
          ...(p.item.votes ? { votes: p.item.votes, split: p.item.split } : {}),
          face: p.faceIndex,
          detector: p.detector,
          score: +p.detection.score.toFixed(4),
          keypoints: p.detection.keypoints.map((k) => [+k.x.toFixed(2), +k.y.toFixed(2)]),
        }),
      );
    });
    appendFileSync(join(values.out!, 'crops128.u8'), Buffer.concat(pending.map((p) => Buffer.from(p.store))));
    appendFileSync(join(values.out!, 'teachers.f32'), Buffer.from(t.buffer));
    appendFileSync(join(values.out!, 'mesh.f32'), Buffer.from(m.buffer));
    appendFileSync(metaPath, lines.join('\n') + '\n');
    faces += pending.length;
    pending = [];
  }
  writeFileSync(progressPath, JSON.stringify({ nextItem, faces, noFace }));
}

const t0 = Date.now();
for (let k = startItem; k < Math.min(limit, items.length); k++) {
  const item = items[k]!;
  let image;
  try {
    image = item.source === 'ferplus' ? framed(loadImage(item.path), FERPLUS_FRAME) : loadImage(item.path);
  } catch (e) {
    console.warn(`skip ${item.file}: ${(e as Error).message}`);
    continue;
  }
  // Labelled crops are single large faces (front128's range); photos may hold small faces (back256).
  const order = item.source === 'expressions' || item.source === 'ferplus' ? [['front128', front], ['back256', back]] as const : [['back256', back], ['front128', front]] as const;
  let dets: FaceDetection[] = [];
  let used = '';
  for (const [name, det] of order) {
    dets = await det.detect(image);
    used = name;
    if (dets.length > 0) break;
  }
  if (dets.length === 0) {
    noFace++;
    continue;
  }
  if (item.source !== 'faces' && item.source !== 'extra') dets = dets.slice(0, 1);
  dets.forEach((detection, faceIndex) => {
    const store = storedCrop(image, detection);
    pending.push({
      item,
      detection,
      faceIndex,
      detector: used,
      store,
      crops: item.source === 'ferplus' ? undefined : {
        emotion: cropHWC(image, detection, TEACHER_CROPS.emotion.size, TEACHER_CROPS.emotion.crop),
        faceapi: cropHWC(image, detection, TEACHER_CROPS.faceapi.size, TEACHER_CROPS.faceapi.crop),
        mesh: cropHWC(image, detection, TEACHER_CROPS.mesh.size, TEACHER_CROPS.mesh.crop),
      },
    });
  });
  if (pending.length >= batchSize) await flush(k + 1);
  if (k % 200 === 0) console.log(`${k}/${items.length} items, ${faces + pending.length} faces, ${noFace} without a face, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
await flush(Math.min(limit, items.length));
console.log(`done: ${faces} faces, ${noFace} images without a face, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
await front.release();
await back.release();
