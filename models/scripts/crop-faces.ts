/**
 * Cuts one face per image with the server's own detector and aligner, at a model's crop and input size: what that
 * model sees live. Used by `python -m fpnmaa.evaluate --dataset ...` (models/fpnmaa/score.py).
 *
 *   npx tsx models/scripts/crop-faces.ts --list images.txt --size 112 --crop '{"method":"eyes-mouth-v1","scale":3,"shift":0.5}' --out DIR/crops
 *
 * Dataset images are face crops (Aff-Wild2 cropped_aligned, FER+, RAF-DB, AffectNet): each is framed like FER+ faces
 * in make-crops.ts (padded by its own size on every side, edge pixels repeated, 256 px), then read by front128, or
 * back256 when front128 finds nothing; the most confident face is cut. Writes <out>.u8 (found faces x size x size x 3,
 * rounded to 8 bits: <= 0.5/255 off the server's float crop) and <out>.json ({"found": [true, false, ...]} per image).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CropSpec } from '../../server/src/vision/alignment.ts';
import { createFaceDetector, createSessionFactory } from '../../server/src/vision/index.ts';
import { FERPLUS_FRAME, framed, loadImage } from './image.ts';
import { cropHWC } from './teachers.ts';

const { values } = parseArgs({ options: { list: { type: 'string' }, size: { type: 'string' }, crop: { type: 'string' }, out: { type: 'string' } } });
if (!values.list || !values.size || !values.crop || !values.out) throw new Error('usage: crop-faces.ts --list FILE --size S --crop JSON --out PREFIX');
const size = Number(values.size);
const crop = JSON.parse(values.crop) as CropSpec;
const paths = readFileSync(values.list, 'utf8').split('\n').filter((l) => l.length > 0);

const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });
const detectors = [await createFaceDetector({ sessions, model: 'front128' }), await createFaceDetector({ sessions, model: 'back256' })];
const found: boolean[] = [];
const crops: Buffer[] = [];
for (const path of paths) {
  const image = framed(loadImage(path), FERPLUS_FRAME);
  let face;
  for (const det of detectors) {
    face = (await det.detect(image)).sort((a, b) => b.score - a.score)[0];
    if (face) break;
  }
  found.push(Boolean(face));
  if (!face) continue;
  const f = cropHWC(image, face, size, crop);
  const u8 = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) u8[i] = Math.max(0, Math.min(255, Math.round(f[i]!)));
  crops.push(Buffer.from(u8));
}
writeFileSync(`${values.out}.u8`, Buffer.concat(crops));
writeFileSync(`${values.out}.json`, JSON.stringify({ found }));
console.log(`crop-faces: ${crops.length} of ${paths.length} images with a face`);
for (const det of detectors) await det.release();
