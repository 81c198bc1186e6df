/**
 * Per-stage latency of the vision module on one real frame, CPU.
 *   npm run bench:vision [-- --runs 100] [-- --frame path.png|.jpg]
 * Stages: letterbox (frame -> detector tensor), detect (BlazeFace run), decode (anchors, NMS, unletterbox),
 * align (N crops -> NCHW batch), infer (affect model run), postprocess (softmax/sigmoid/labels), for batches of
 * 1, 4 and 16 faces (the frame's face repeated) and 1 and 2 intra-op threads; medians in milliseconds.
 * The detector and the affect model come from the configuration (VISION_DETECTOR_MODEL, VISION_AFFECT_MODEL;
 * by default the shipped model).
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../server/src/config.ts';
import { loadAffectModel, type PredictTimings } from '../server/src/vision/AffectModel.ts';
import { createFaceAligner } from '../server/src/vision/FaceAligner.ts';
import { createFaceDetector, type DetectTimings } from '../server/src/vision/FaceDetector.ts';
import { createSessionFactory } from '../server/src/vision/sessions.ts';
import { loadImage } from '../models/scripts/image.ts';
import { fromRepo, writeResults } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    frame: { type: 'string', default: fileURLToPath(new URL('../test/fixtures/astronaut.png', import.meta.url)) },
    json: { type: 'string' },
  },
});
const runs = Number(values.runs);
const vision = loadConfig().vision;
const affectPath = vision.affectModelPath;
const frame = loadImage(values.frame);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stages = ['letterbox', 'detect', 'decode', 'align', 'infer', 'postprocess'] as const;
const rows: { threads: number; batch: number; medianMs: Record<(typeof stages)[number], number> }[] = [];
let device = '';

for (const threads of [1, 2]) {
  const sessions = createSessionFactory({
    provider: vision.provider,
    intraOpThreads: threads,
    interOpThreads: 1,
    log: (line) => (device = line),
  });
  const detector = await createFaceDetector({ sessions, model: vision.detectorModel, minScore: vision.detectorMinScore });
  const model = await loadAffectModel(affectPath, { sessions });
  const aligner = createFaceAligner(model.info);
  for (const batch of [1, 4, 16]) {
    const samples = Object.fromEntries(stages.map((s) => [s, [] as number[]])) as Record<(typeof stages)[number], number[]>;
    // 10 warm-up runs: the first runs allocate onnxruntime's arenas.
    for (let run = -10; run < runs; run++) {
      const d: DetectTimings = { letterbox: 0, detect: 0, decode: 0 };
      const faces = await detector.detect(frame, d);
      if (faces.length === 0) throw new Error(`no face found in ${values.frame}`);
      const t0 = performance.now();
      const crops = aligner.align(Array.from({ length: batch }, () => ({ image: frame, detection: faces[0]! })));
      const align = performance.now() - t0;
      const p: PredictTimings = { infer: 0, postprocess: 0 };
      await model.predict(crops, batch, p);
      if (run < 0) continue;
      for (const [stage, ms] of Object.entries({ ...d, align, ...p })) samples[stage as (typeof stages)[number]].push(ms);
    }
    rows.push({ threads, batch, medianMs: Object.fromEntries(stages.map((s) => [s, median(samples[s])])) as Record<(typeof stages)[number], number> });
  }
  await detector.release();
  await model.release();
}

console.log(device);
console.log(
  `frame ${fromRepo(values.frame)} (${frame.width}x${frame.height}); detector ${vision.detectorModel}; ` +
    `affect model ${fromRepo(affectPath)}; median of ${runs} runs, ms`,
);
console.log(`| threads | batch | ${stages.join(' | ')} |`);
console.log(`|---|---|${stages.map(() => '---').join('|')}|`);
for (const row of rows) console.log(`| ${row.threads} | ${row.batch} | ${stages.map((s) => row.medianMs[s].toFixed(3)).join(' | ')} |`);
writeResults(values.json, 'vision', { device, frame: fromRepo(values.frame), detector: vision.detectorModel, affectModel: fromRepo(affectPath), runs, rows });
