/**
 * Which eyes-mouth-v1 square (scale, shift) a set of face crops corresponds to, measured with the server's detector:
 * how the crop a converted or ABAW-trained model declares (convert_paper.py AFFWILD2_CROP) is checked against real
 * cropped_aligned frames.
 *
 *   npx tsx models/scripts/crop-geometry.ts CROP.jpg...                  measure crops (e.g. cropped_aligned/<video>/*.jpg)
 *   npx tsx models/scripts/crop-geometry.ts --cut 2.753,0.108 PHOTO...   round trip: cut 112 px crops from photos with the
 *                                                                       server's aligner at that square, then measure them
 *
 * Each crop is framed as crop-faces.ts does (padded by its own size, 256 px) and detected; from the eyes and mouth
 * keypoints (back in crop pixels): scale = crop side / max(eye distance, eye-midpoint-to-mouth distance), shift = how
 * far the crop centre lies from the eye midpoint towards the mouth, in eye-to-mouth units. Prints the median and range.
 */
import { parseArgs } from 'node:util';
import { createFaceDetector, createSessionFactory } from '../../server/src/vision/index.ts';
import type { RgbImage } from '../../server/src/vision/types.ts';
import { FERPLUS_FRAME, framed, loadImage } from './image.ts';
import { cropHWC } from './teachers.ts';

const { values, positionals } = parseArgs({ options: { cut: { type: 'string' } }, allowPositionals: true });
const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });
const detectors = [await createFaceDetector({ sessions, model: 'front128' }), await createFaceDetector({ sessions, model: 'back256' })];
async function detect(image: RgbImage) {
  for (const det of detectors) {
    const face = (await det.detect(image)).sort((a, b) => b.score - a.score)[0];
    if (face) return face;
  }
  return undefined;
}

let crops: RgbImage[] = positionals.map(loadImage);
if (values.cut) {
  const [scale, shift] = values.cut.split(',').map(Number);
  const cut: RgbImage[] = [];
  for (const photo of crops) {
    const face = await detect(photo);
    if (!face) continue;
    const f = cropHWC(photo, face, 112, { method: 'eyes-mouth-v1', scale: scale!, shift: shift! });
    cut.push({ width: 112, height: 112, pixels: Uint8Array.from(f, (v) => Math.max(0, Math.min(255, Math.round(v)))) });
  }
  crops = cut;
}
const scales: number[] = [];
const shifts: number[] = [];
for (const crop of crops) {
  const face = await detect(framed(crop, FERPLUS_FRAME));
  if (!face) continue;
  // framed(): frame point u (continuous) <- crop point x = u * 3w / 256 - w
  const k = (3 * crop.width) / FERPLUS_FRAME;
  const [re, le, , mouth] = face.keypoints.map((p) => ({ x: p.x * k - crop.width, y: p.y * k - crop.height }));
  const mid = { x: (re!.x + le!.x) / 2, y: (re!.y + le!.y) / 2 };
  const dm = { x: mouth!.x - mid.x, y: mouth!.y - mid.y };
  const eyeMouth = Math.hypot(dm.x, dm.y);
  scales.push(crop.width / Math.max(Math.hypot(le!.x - re!.x, le!.y - re!.y), eyeMouth));
  shifts.push(((crop.width / 2 - mid.x) * dm.x + (crop.height / 2 - mid.y) * dm.y) / (eyeMouth * eyeMouth));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const range = (v: number[]) => `${Math.min(...v).toFixed(3)}..${Math.max(...v).toFixed(3)}`;
console.log(JSON.stringify({ crops: crops.length, measured: scales.length, scale: +median(scales).toFixed(3), shift: +median(shifts).toFixed(3), scaleRange: range(scales), shiftRange: range(shifts) }));
for (const det of detectors) await det.release();
