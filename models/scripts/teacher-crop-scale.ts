/**
 * Fairness check for the expression teachers' bar: their accuracy / macro-F1 on the validation faces at several
 * teacher-crop scales (eyes-mouth-v1, shift 0.5), the keypoints as stored by make-crops.ts.
 *   npx tsx models/scripts/teacher-crop-scale.ts --data DIR --crops models/cache/crops --val models/cache/val-faces.json
 * (val-faces.json: [[faceIndex, labelIndex], ...] written by python -m fpnmaa.prepare's split; labels in paper order)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CropSpec } from '../../server/src/vision/alignment.ts';
import type { FaceDetection } from '../../server/src/vision/types.ts';
import { loadImage } from './image.ts';
import { accuracy, macroF1, perClassRecall } from './metrics.ts';
import { cropHWC, loadTeachers } from './teachers.ts';

const { values } = parseArgs({
  options: { data: { type: 'string' }, crops: { type: 'string' }, val: { type: 'string' }, teachers: { type: 'string', default: 'models/cache' }, scales: { type: 'string', default: '1.6,2.0,2.4' } },
});
const meta = readFileSync(join(values.crops!, 'faces.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const val: [number, number][] = JSON.parse(readFileSync(values.val!, 'utf8'));
const teachers = await loadTeachers(values.teachers!);
const scales = values.scales!.split(',').map(Number);
const preds: Record<string, number[]> = {};
const argmax = (v: number[]) => v.indexOf(Math.max(...v));
for (let b = 0; b < val.length; b += 32) {
  const batch = val.slice(b, b + 32);
  const items = batch.map(([i]) => {
    const m = meta[i];
    const image = loadImage(join(values.data!, 'expressions/images', m.file));
    const detection: FaceDetection = { box: { x: 0, y: 0, width: 0, height: 0 }, score: m.score, keypoints: m.keypoints.map(([x, y]: number[]) => ({ x, y })) } as unknown as FaceDetection;
    return { image, detection };
  });
  for (const s of scales) {
    const crop: CropSpec = { method: 'eyes-mouth-v1', scale: s, shift: 0.5 };
    const crops = items.map(({ image, detection }) => ({
      emotion: cropHWC(image, detection, 64, crop),
      faceapi: cropHWC(image, detection, 112, crop),
      mesh: new Float32Array(0),
    }));
    const r = await teachers.runExpression(crops);
    (preds[`emotion@${s}`] ??= []).push(...r.emotion.map(argmax));
    (preds[`faceapi@${s}`] ??= []).push(...r.faceapi.map(argmax));
  }
}
const y = val.map(([, l]) => l);
const out: Record<string, { accuracy: number; macro_f1: number; recall: number[] }> = {};
for (const [k, p] of Object.entries(preds)) {
  out[k] = { accuracy: +accuracy(y, p).toFixed(4), macro_f1: +macroF1(y, p, 7).toFixed(4), recall: perClassRecall(y, p, 7).map((r) => +r.toFixed(3)) };
}
console.log(JSON.stringify({ faces: val.length, ...out }, null, 1));
