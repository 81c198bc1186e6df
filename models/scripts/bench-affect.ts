/**
 * Latency of affect models through the server's own loader (onnxruntime-node, CPU, 1 intra-op thread): ms per face at
 * each batch size (default 1 and 16), median of repeated runs after warm-up. Several models are measured side by side: rounds
 * alternate between them, so a noisy neighbour on a shared machine slows each model alike. --faceapi TEACHER_CACHE adds
 * face-api's expression net (the ensemble's other member) through its own tfjs graph (wasm backend, SIMD, one thread in
 * Node: tfjs-node does not install offline), on 112 px HWC crops; --faceapi-onnx FILE adds its ONNX port
 * (fpnmaa/faceapi_net.py) through the server's session factory, as a second session beside the affect model would run.
 *   npx tsx models/scripts/bench-affect.ts [MODEL.onnx ...] [--runs 200] [--rounds 4] [--batches 1,4,8,16] [--faceapi models/cache]
 *       [--faceapi-onnx models/cache/faceapi-expression.onnx]
 */
import { parseArgs } from 'node:util';
import { createSessionFactory, loadAffectModel } from '../../server/src/vision/index.ts';
import { loadFaceApiOnnx } from './faceapiOnnx.ts';
import { loadTeachers, TEACHER_CROPS } from './teachers.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '4' },
    batches: { type: 'string', default: '1,16' },
    faceapi: { type: 'string' },
    'faceapi-onnx': { type: 'string' },
  },
});
const paths = positionals.length > 0 ? positionals : ['models/affect/fpn-maa-realtime.onnx'];
const runs = Number(values.runs);
const rounds = Number(values.rounds);
const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });
/** One network to time: `run` takes `batch` crops of inputSize x inputSize x 3 values in the layout it needs. */
interface Timed {
  info: { version: string; inputSize: number };
  run(crops: Float32Array, batch: number): Promise<unknown>;
  release(): Promise<void>;
}
const models: Timed[] = [];
for (const p of paths) {
  const model = await loadAffectModel(p, { sessions });
  models.push({ info: model.info, run: (crops, batch) => model.predict(crops, batch), release: () => model.release() });
}
if (values.faceapi) {
  const teachers = await loadTeachers(values.faceapi);
  const face = 112 * 112 * 3;
  paths.push('face-api face_expression_model (tfjs wasm)');
  models.push({
    info: { version: '1.7.15', inputSize: 112 },
    run: (crops, batch) => teachers.runFaceApi(Array.from({ length: batch }, (_, i) => crops.subarray(i * face, (i + 1) * face))),
    release: async () => {},
  });
}
if (values['faceapi-onnx']) {
  const port = await loadFaceApiOnnx(values['faceapi-onnx'], sessions, TEACHER_CROPS.faceapi.crop);
  paths.push(`${values['faceapi-onnx']} (face-api's net in onnxruntime)`);
  models.push({ info: { version: '1.7.15', inputSize: 112 }, run: (crops, batch) => port.predict(crops, batch), release: () => port.release() });
}

const batches = values.batches.split(',').map(Number);
if (!batches.every((b) => Number.isInteger(b) && b > 0)) throw new Error(`--batches takes positive integers, got ${values.batches}`);
const samples = models.map(() => new Map(batches.map((b) => [b, [] as number[]])));
for (let round = 0; round < rounds; round++) {
  for (const [m, model] of models.entries()) {
    const s = model.info.inputSize;
    for (const batch of batches) {
      const crops = new Float32Array(batch * 3 * s * s).map((_, i) => Math.sin(i * 0.01));
      const n = Math.ceil(Math.max(20, Math.round(runs / batch)) / rounds);
      for (let i = 0; i < 5; i++) await model.run(crops, batch);
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await model.run(crops, batch);
        samples[m]!.get(batch)!.push((performance.now() - t0) / batch);
      }
    }
  }
}
const quantile = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.floor(q * (v.length - 1))]!;
models.forEach((model, m) => {
  const row: Record<string, unknown> = { model: paths[m], version: model.info.version, inputSize: model.info.inputSize, threads: 1 };
  for (const batch of batches) {
    row[`batch${batch}_ms_per_face_median`] = +quantile(samples[m]!.get(batch)!, 0.5).toFixed(3);
    row[`batch${batch}_ms_per_face_p90`] = +quantile(samples[m]!.get(batch)!, 0.9).toFixed(3);
  }
  console.log(JSON.stringify(row));
});
for (const model of models) await model.release();
