/**
 * Face detector recall on real frames, for choosing the default BlazeFace model.
 *   tsx bench/vision-recall.ts DIR [DIR...]
 * Every PNG/JPEG in each DIR is taken to show at least one face (e.g. frames of a webcam call extracted with
 * ffmpeg). Prints, per directory and model: images where a face was found (recall), images with more than one
 * face (duplicates or false positives on single-person material), faces found, median detect time.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createFaceDetector, type BlazeFaceModel } from '../server/src/vision/FaceDetector.ts';
import { createSessionFactory } from '../server/src/vision/sessions.ts';
import { loadImage } from '../models/scripts/image.ts';

const dirs = process.argv.slice(2);
if (dirs.length === 0) throw new Error('usage: tsx bench/vision-recall.ts DIR [DIR...]');
const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1 });
const models: BlazeFaceModel[] = ['front128', 'back256'];
const detectors = await Promise.all(models.map((model) => createFaceDetector({ sessions, model })));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
console.log('| images | model | found a face | more than one | faces | median detect ms |');
console.log('|---|---|---|---|---|---|');
for (const dir of dirs) {
  const files = readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  const images = files.map((f) => loadImage(join(dir, f)));
  for (const detector of detectors) {
    let found = 0;
    let many = 0;
    let faces = 0;
    const ms: number[] = [];
    for (const image of images) {
      const t = { letterbox: 0, detect: 0, decode: 0 };
      const n = (await detector.detect(image, t)).length;
      ms.push(t.letterbox + t.detect + t.decode);
      if (n > 0) found++;
      if (n > 1) many++;
      faces += n;
    }
    const pct = ((100 * found) / images.length).toFixed(1);
    console.log(
      `| ${dir.split('/').pop()} (${images.length}) | ${detector.model} | ${found} (${pct}%) | ${many} | ${faces} | ${median(ms).toFixed(2)} |`,
    );
  }
}
