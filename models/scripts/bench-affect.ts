/**
 * Latency of an affect model through the server's own loader (onnxruntime-node, CPU, 1 intra-op thread):
 * ms per face at batch 1 and batch 16 (median of repeated runs after warm-up).
 *   npx tsx models/scripts/bench-affect.ts models/affect/fpn-maa-realtime.onnx [--runs 200]
 */
import { createSessionFactory, loadAffectModel } from '../../server/src/vision/index.ts';

const path = process.argv[2] ?? 'models/affect/fpn-maa-realtime.onnx';
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 200;
const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });
const model = await loadAffectModel(path, { sessions });
const s = model.info.inputSize;
const result: Record<string, number> = {};
for (const batch of [1, 16]) {
  const crops = new Float32Array(batch * 3 * s * s).map((_, i) => Math.sin(i * 0.01));
  const n = batch === 1 ? runs : Math.max(20, Math.round(runs / 8));
  for (let i = 0; i < 10; i++) await model.predict(crops, batch);
  const times: number[] = [];
  const t = { infer: 0, postprocess: 0 };
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await model.predict(crops, batch, t);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  result[`batch${batch}_ms_per_face_median`] = +(times[Math.floor(n / 2)]! / batch).toFixed(3);
  result[`batch${batch}_ms_per_face_p90`] = +(times[Math.floor(n * 0.9)]! / batch).toFixed(3);
}
console.log(JSON.stringify({ model: path, inputSize: s, threads: 1, ...result }));
await model.release();
