/**
 * Our served affect model (fp32 and its int8 quantization) against the paper's implementation, in one run, interleaved so machine noise hits every
 * contender alike: fpn-maa-realtime in onnxruntime-node through the server's own loader, the paper's ResNet-50 FPN
 * (128x128) in PyTorch eager, and our own architecture in PyTorch eager; CPU at 1 and 2 threads, batch 1, 8 and 32;
 * on CUDA too where it loads.
 *   npm run bench:model [-- --full] [--threads 1,2] [--json file]
 * The PyTorch side (models/fpnmaa/bench_torch.py) needs the training environment from models/setup.sh; without it
 * those rows say so and the ONNX rows still run.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { env } from 'onnxruntime-node';
import { int8Sibling, SHIPPED_AFFECT_MODEL } from '../server/src/config.ts';
import { createSessionFactory, loadAffectModel, type AffectModel } from '../server/src/vision/index.ts';
import { describeMachine, writeResults } from './lib/report.ts';
import { fmt, median, quantile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    threads: { type: 'string', default: '1,2' },
    json: { type: 'string' },
  },
});
const BATCHES = [1, 8, 32];
const THREADS = values.threads.split(',').map(Number);
if (!THREADS.every((t) => Number.isInteger(t) && t > 0)) throw new Error(`--threads takes positive integers, got ${values.threads}`);
const ROUNDS = values.full ? 30 : 8;
/**
 * Wall time each contender gets per batch size per round: fast contenders run many iterations, the paper's r50 at
 * batch 32 runs one, so it does not stretch the run while the others collect a handful of samples.
 */
const ROUND_BUDGET_MS = 250;
const MAX_ITERS = 50;
const modelsDir = fileURLToPath(new URL('../models/', import.meta.url));
const python = `${modelsDir}.venv/bin/python`;
/** The weights the shipped ONNX file was exported from, relative to models/. */
const CHECKPOINT = 'checkpoints/realtime-soft/final.pt';

type Device = 'cpu' | 'cuda';
interface Contender {
  model: 'fpn-maa-realtime (ours)' | 'fpn-maa-realtime int8 (ours)' | 'fpn-maa-r50 (paper)';
  runtime: 'onnxruntime-node' | 'PyTorch eager';
  device: Device;
  threads: number;
  /** Per-batch times in ms of `iters` timed runs after `warmup` untimed ones. */
  time(batch: number, warmup: number, iters: number): Promise<number[]>;
}
const runtimeLabel = (c: Pick<Contender, 'runtime' | 'device' | 'threads'>) =>
  `${c.runtime} ${c.device === 'cuda' ? 'CUDA' : `${c.threads} thr`}`;

interface TorchHello {
  torch: string;
  defaultThreads: number;
  params: { r50: number; realtime: number };
  inputSize: { r50: number; realtime: number };
  weights: { r50: string; realtime: string };
  cuda: string | null;
}

const TORCH_SKIPPED = 'skipped: run models/setup.sh to create the PyTorch environment';

interface TorchSide {
  hello: TorchHello;
  contender(arch: 'r50' | 'realtime', device: Device, threads: number): Contender;
  close(): Promise<void>;
}

/** The PyTorch side: one long-lived process answering one request per line; none without the environment. */
async function startTorch(): Promise<TorchSide | undefined> {
  if (!existsSync(python)) return undefined;
  const args = ['-m', 'fpnmaa.bench_torch', ...(existsSync(`${modelsDir}${CHECKPOINT}`) ? ['--checkpoint', CHECKPOINT] : [])];
  const child = spawn(python, args, { cwd: modelsDir, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<unknown> => {
    const line = await lines.next();
    if (line.done) throw new Error(`the PyTorch process (${python} ${args.join(' ')}) exited; its error is above`);
    return JSON.parse(line.value);
  };
  const hello = (await next()) as TorchHello;
  const contender = (arch: 'r50' | 'realtime', device: Device, threads: number): Contender => ({
    model: arch === 'r50' ? 'fpn-maa-r50 (paper)' : 'fpn-maa-realtime (ours)',
    runtime: 'PyTorch eager',
    device,
    threads,
    async time(batch, warmup, iters) {
      child.stdin.write(`${JSON.stringify({ arch, device, threads, batch, warmup, iters })}\n`);
      return ((await next()) as { ms: number[] }).ms;
    },
  });
  const close = () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
    });
  return { hello, contender, close };
}

const inputs = new Map<number, Float32Array>();
/** A smooth pattern, not zeros: timing must not meet any all-zero shortcut. */
const cropsFor = (batch: number, size: number) => {
  if (!inputs.has(batch)) inputs.set(batch, new Float32Array(batch * 3 * size * size).map((_, i) => Math.sin(i * 0.01)));
  return inputs.get(batch)!;
};

/** Times predict() as the server calls it: tensor wrap, session run and decode. */
const onnxContender = (model: AffectModel, device: Device, threads: number, precision: 'fp32' | 'int8' = 'fp32'): Contender => ({
  model: precision === 'int8' ? 'fpn-maa-realtime int8 (ours)' : 'fpn-maa-realtime (ours)',
  runtime: 'onnxruntime-node',
  device,
  threads,
  async time(batch, warmup, iters) {
    const crops = cropsFor(batch, model.info.inputSize);
    for (let i = 0; i < warmup; i++) await model.predict(crops, batch);
    const times: number[] = [];
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      await model.predict(crops, batch);
      times.push(performance.now() - t0);
    }
    return times;
  },
});

const load = (provider: 'cpu' | 'cuda', threads: number, path = SHIPPED_AFFECT_MODEL) =>
  loadAffectModel(path, {
    sessions: createSessionFactory({ provider, intraOpThreads: threads, interOpThreads: 1, log: () => {} }),
  });

// A CPU-only onnxruntime logs a native error when the CUDA probe below fails; the probe's exception says it better.
env.logLevel = 'fatal';
const onnxModels = await Promise.all(THREADS.map((threads) => load('cpu', threads)));
// The int8 quantization the server runs by default on a CPU (VISION_PRECISION), beside the fp32 file.
const int8Models = await Promise.all(THREADS.map((threads) => load('cpu', threads, int8Sibling(SHIPPED_AFFECT_MODEL))));
const info = onnxModels[0]!.info;
const onnxCuda = await load('cuda', 1).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
const torch = await startTorch();

const contenders: Contender[] = [];
THREADS.forEach((threads, i) => {
  contenders.push(onnxContender(onnxModels[i]!, 'cpu', threads), onnxContender(int8Models[i]!, 'cpu', threads, 'int8'));
  if (torch) contenders.push(torch.contender('realtime', 'cpu', threads), torch.contender('r50', 'cpu', threads));
});
if (typeof onnxCuda !== 'string') contenders.push(onnxContender(onnxCuda, 'cuda', 1));
if (torch?.hello.cuda) contenders.push(torch.contender('realtime', 'cuda', 1), torch.contender('r50', 'cuda', 1));

// Warm-up: onnxruntime's arenas, PyTorch's allocator and oneDNN primitives. Its one timed run seeds the plan.
const warmupMs = new Map<Contender, Map<number, number>>();
for (const c of contenders) {
  warmupMs.set(c, new Map());
  for (const batch of BATCHES) warmupMs.get(c)!.set(batch, (await c.time(batch, 1, 1))[0]!);
}
const samples = new Map<Contender, Map<number, number[]>>(contenders.map((c) => [c, new Map(BATCHES.map((b) => [b, []]))]));
/**
 * Iterations this round from the median so far, not from the warm-up alone: one run caught by a load spike would
 * otherwise leave a contender with one iteration per round for the whole run.
 */
const itersFor = (c: Contender, batch: number) => {
  const sofar = samples.get(c)!.get(batch)!;
  const ms = sofar.length ? median(sofar) : warmupMs.get(c)!.get(batch)!;
  return Math.min(MAX_ITERS, Math.max(1, Math.ceil(ROUND_BUDGET_MS / ms)));
};
for (let round = 0; round < ROUNDS; round++) {
  for (const batch of BATCHES) {
    for (const c of contenders) samples.get(c)!.get(batch)!.push(...(await c.time(batch, 0, itersFor(c, batch))));
  }
}
await torch?.close();
await Promise.all([...onnxModels, ...int8Models].map((m) => m.release()));
if (typeof onnxCuda !== 'string') await onnxCuda.release();

const rows = contenders.flatMap((c) =>
  BATCHES.map((batch) => {
    const ms = samples.get(c)!.get(batch)!;
    return {
      model: c.model,
      runtime: c.runtime,
      device: c.device,
      threads: c.threads,
      batch,
      msPerFace: median(ms) / batch,
      msPerBatch: median(ms),
      msPerBatchP90: quantile(ms, 0.9),
      samples: ms.length,
    };
  }),
);
const perFace = (model: Contender['model'], runtime: Contender['runtime'], device: Device, threads: number, batch: number) =>
  rows.find((r) => r.model === model && r.runtime === runtime && r.device === device && (device === 'cuda' || r.threads === threads) && r.batch === batch)
    ?.msPerFace;
/** Per batch size, `over` ms per face / our ONNX ms per face; undefined where a side did not run. */
const ratios = (over: Contender['model'], device: Device, threads: number) => {
  const entries = BATCHES.map((b) => {
    const ratio = (perFace(over, 'PyTorch eager', device, threads, b) ?? NaN) / (perFace('fpn-maa-realtime (ours)', 'onnxruntime-node', device, threads, b) ?? NaN);
    return [b, ratio] as const;
  });
  return entries.every(([, r]) => Number.isFinite(r)) ? Object.fromEntries(entries) : undefined;
};
const ratioSets = [...THREADS.map((t) => ({ device: 'cpu' as Device, threads: t })), { device: 'cuda' as Device, threads: 1 }].flatMap(({ device, threads }) => {
  const paperOverOurs = ratios('fpn-maa-r50 (paper)', device, threads);
  const ourTorchOverOurOnnx = ratios('fpn-maa-realtime (ours)', device, threads);
  return paperOverOurs && ourTorchOverOurOnnx ? [{ device, threads, paperOverOurs, ourTorchOverOurOnnx }] : [];
});

const fileBytes = statSync(SHIPPED_AFFECT_MODEL).size;
const millions = (n: number) => `${(n / 1e6).toFixed(2)} M parameters`;
console.log(describeMachine());
console.log(
  `onnxruntime-node ${env.versions.node}` +
    (torch ? `, PyTorch ${torch.hello.torch} (its default: ${torch.hello.defaultThreads} threads)` : '') +
    `; ${ROUNDS} interleaved rounds, each contender ~${ROUND_BUDGET_MS} ms per batch size per round; medians over all iterations`,
);
console.log(
  `ours:  ${info.name} ${info.version}, ${(fileBytes / 1e6).toFixed(1)} MB ONNX, ${info.inputSize}x${info.inputSize} input` +
    (torch
      ? `, ${millions(torch.hello.params.realtime)}; PyTorch weights: ${torch.hello.weights.realtime === 'random' ? 'random init' : `models/${torch.hello.weights.realtime} (the shipped weights)`}`
      : ''),
);
if (torch) {
  const s = torch.hello.inputSize.r50;
  console.log(`paper: fpn-maa-r50 (ResNet-50 FPN), ${s}x${s} input, ${millions(torch.hello.params.r50)}; random init (time does not depend on weights)`);
}
console.log(`onnxruntime times are predict() as the server runs it (tensor wrap, session run, decode); PyTorch times are the forward pass`);
console.log(`\n${'model'.padEnd(30)} ${'runtime'.padEnd(23)} ${'batch'.padStart(5)}  ${'ms/face p50'.padStart(11)}  ${'ms/batch p50'.padStart(12)}  ${'ms/batch p90'.padStart(12)}  ${'n'.padStart(4)}`);
const printRows = (device: Device, threads: number) => {
  for (const r of rows.filter((r) => r.device === device && r.threads === threads)) {
    console.log(
      `${r.model.padEnd(30)} ${runtimeLabel(r).padEnd(23)} ${String(r.batch).padStart(5)}  ${fmt(r.msPerFace, 2).padStart(11)}  ${fmt(r.msPerBatch, 2).padStart(12)}  ${fmt(r.msPerBatchP90, 2).padStart(12)}  ${String(r.samples).padStart(4)}`,
    );
  }
  if (!torch) {
    for (const model of ['fpn-maa-realtime (ours)', 'fpn-maa-r50 (paper)']) {
      console.log(`${model.padEnd(30)} ${runtimeLabel({ runtime: 'PyTorch eager', device, threads }).padEnd(23)} ${TORCH_SKIPPED}`);
    }
  }
};
for (const threads of THREADS) printRows('cpu', threads);
const ratioLine = (what: string, byBatch: Record<number, number>) => `${what}: ${BATCHES.map((b) => `b${b} ${fmt(byBatch[b]!, 1)}x`).join('  ')}`;
for (const r of ratioSets) {
  const where = r.device === 'cuda' ? 'CUDA' : `${r.threads} thr`;
  console.log(`${ratioLine(`ratio paper r50 (PyTorch) / ours (ONNX), ${where}`, r.paperOverOurs)}   (target >= 5x)`);
  console.log(ratioLine(`ratio ours (PyTorch) / ours (ONNX), ${where}`, r.ourTorchOverOurOnnx));
}

const gpu = {
  onnxruntime: typeof onnxCuda === 'string' ? `CUDA unavailable: ${onnxCuda}` : 'CUDA',
  torch: torch ? (torch.hello.cuda ?? 'CUDA unavailable: torch.cuda.is_available() is false') : TORCH_SKIPPED,
};
console.log(`\nGPU: onnxruntime-node: ${gpu.onnxruntime}\nGPU: PyTorch: ${gpu.torch}`);
if (typeof onnxCuda !== 'string' || torch?.hello.cuda) printRows('cuda', 1);

writeResults(values.json, 'model', {
  rounds: ROUNDS,
  roundBudgetMs: ROUND_BUDGET_MS,
  threads: THREADS,
  batches: BATCHES,
  versions: { onnxruntimeNode: env.versions.node, torch: torch?.hello.torch },
  ours: {
    name: info.name,
    version: info.version,
    fileBytes,
    inputSize: info.inputSize,
    params: torch?.hello.params.realtime,
    torchWeights: torch?.hello.weights.realtime,
  },
  paper: torch ? { arch: 'r50', inputSize: torch.hello.inputSize.r50, params: torch.hello.params.r50, torchWeights: 'random' } : undefined,
  torch: torch ? { defaultThreads: torch.hello.defaultThreads } : TORCH_SKIPPED,
  gpu,
  rows,
  // The served configuration (the first thread count, 1 by default) in the shape the npm run bench summary reads.
  ratios: ratioSets[0],
  ratioSets,
});
