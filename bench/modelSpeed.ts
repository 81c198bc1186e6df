/**
 * Our served affect model against the paper's implementation, same machine, same run, interleaved so noise
 * hits all alike: ms per face of fpn-maa-realtime in onnxruntime-node (the server's own loader, CPU, 1 intra-op
 * thread) vs the paper's ResNet-50 FPN (128x128) in PyTorch eager, and vs its own architecture in PyTorch,
 * at batch 1, 8 and 32.
 *   npm run bench:model [-- --full] [--json file]
 * The PyTorch side needs the training environment (models/setup.sh); without it those rows are skipped.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SHIPPED_AFFECT_MODEL } from '../server/src/config.ts';
import { createSessionFactory, loadAffectModel } from '../server/src/vision/index.ts';
import { describeMachine, writeResults } from './lib/report.ts';
import { fmt, median } from './lib/stats.ts';

const { values } = parseArgs({ options: { full: { type: 'boolean', default: false }, json: { type: 'string' } } });
const BATCHES = [1, 8, 32];
const ROUNDS = values.full ? 10 : 3;
/** Iterations per round: about the same wall time per batch size. */
const ITERS: Record<number, number> = { 1: 20, 8: 5, 32: 2 };
const THREADS = 1;
const modelsDir = fileURLToPath(new URL('../models/', import.meta.url));
const python = `${modelsDir}.venv/bin/python`;

type Contender = 'ours-onnx' | 'paper-r50-torch' | 'ours-torch';
const LABELS: Record<Contender, string> = {
  'ours-onnx': 'fpn-maa-realtime  onnxruntime-node',
  'paper-r50-torch': 'fpn-maa-r50 (paper)  PyTorch eager',
  'ours-torch': 'fpn-maa-realtime  PyTorch eager',
};

/** The PyTorch side: one long-lived process answering one request per line. */
async function startTorch() {
  if (!existsSync(python)) return undefined;
  const child = spawn(python, ['-m', 'fpnmaa.timing', '--threads', String(THREADS)], { cwd: modelsDir, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string);
  const hello = (await next()) as { torch: string; threads: number; params: Record<string, number>; cuda: boolean };
  return {
    hello,
    async time(arch: 'r50' | 'realtime', batch: number, iters: number, warmup = 0): Promise<number[]> {
      child.stdin!.write(`${JSON.stringify({ arch, batch, iters, warmup })}\n`);
      return ((await next()) as { ms: number[] }).ms;
    },
    close: () => child.kill(),
  };
}

const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: THREADS, interOpThreads: 1, log: () => {} });
const model = await loadAffectModel(SHIPPED_AFFECT_MODEL, { sessions });
const size = model.info.inputSize;
const onnxTimes = async (batch: number, iters: number) => {
  const crops = new Float32Array(batch * 3 * size * size).map((_, i) => Math.sin(i * 0.01));
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await model.predict(crops, batch);
    times.push(performance.now() - t0);
  }
  return times;
};

const torch = await startTorch();
const samples = new Map<string, number[]>();
const add = (who: Contender, batch: number, times: number[]) => samples.set(`${who}/${batch}`, [...(samples.get(`${who}/${batch}`) ?? []), ...times]);

// Warm-up: onnxruntime's arenas, PyTorch's allocator.
for (const batch of BATCHES) {
  await onnxTimes(batch, 3);
  await torch?.time('r50', batch, 0, 2);
  await torch?.time('realtime', batch, 0, 2);
}
for (let round = 0; round < ROUNDS; round++) {
  for (const batch of BATCHES) {
    const iters = ITERS[batch]!;
    add('ours-onnx', batch, await onnxTimes(batch, iters));
    if (torch) {
      add('paper-r50-torch', batch, await torch.time('r50', batch, iters));
      add('ours-torch', batch, await torch.time('realtime', batch, iters));
    }
  }
}
torch?.close();
await model.release();

const perFace = (who: Contender, batch: number) => median(samples.get(`${who}/${batch}`) ?? []) / batch;
console.log(describeMachine());
console.log(
  `CPU, ${THREADS} thread; ${ROUNDS} interleaved rounds; ours: ${model.info.name} ${model.info.version} ` +
    `(${(statSync(SHIPPED_AFFECT_MODEL).size / 2 ** 20).toFixed(1)} MB ONNX, ${size}x${size} input)` +
    (torch ? `; PyTorch ${torch.hello.torch}, random weights (time does not depend on them), parameters: r50 ${(torch.hello.params.r50! / 1e6).toFixed(1)} M, realtime ${(torch.hello.params.realtime! / 1e6).toFixed(1)} M` : ''),
);
console.log(`${'model and runtime'.padEnd(40)} ${BATCHES.map((b) => `b${b} ms/face`.padStart(13)).join(' ')}`);
const contenders: Contender[] = torch ? ['ours-onnx', 'paper-r50-torch', 'ours-torch'] : ['ours-onnx'];
for (const who of contenders) console.log(`${LABELS[who].padEnd(40)} ${BATCHES.map((b) => fmt(perFace(who, b), 2).padStart(13)).join(' ')}`);
const ratios = torch
  ? {
      paperOverOurs: Object.fromEntries(BATCHES.map((b) => [b, perFace('paper-r50-torch', b) / perFace('ours-onnx', b)])),
      ourTorchOverOurOnnx: Object.fromEntries(BATCHES.map((b) => [b, perFace('ours-torch', b) / perFace('ours-onnx', b)])),
    }
  : undefined;
if (ratios) {
  console.log(`${'paper r50 (PyTorch) / ours (ONNX)'.padEnd(40)} ${BATCHES.map((b) => `${fmt(ratios.paperOverOurs[b]!, 1)}x`.padStart(13)).join(' ')}   (target >= 5x)`);
  console.log(`${'ours PyTorch / ours ONNX'.padEnd(40)} ${BATCHES.map((b) => `${fmt(ratios.ourTorchOverOurOnnx[b]!, 1)}x`.padStart(13)).join(' ')}`);
  if (torch?.hello.cuda) console.log('CUDA is available to PyTorch; this benchmark compares CPU only.');
} else {
  console.log('PyTorch rows skipped: run models/setup.sh to create the PyTorch environment.');
}
writeResults(values.json, 'model', {
  threads: THREADS,
  rounds: ROUNDS,
  msPerFace: Object.fromEntries(contenders.map((who) => [who, Object.fromEntries(BATCHES.map((b) => [b, perFace(who, b)]))])),
  torch: torch?.hello,
  ratios,
});
