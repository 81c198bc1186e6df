/**
 * The expression ensemble's ceiling on the dev sets, through the served path: the server's detector (front128, else
 * back256) on each image, the server's aligner at each model's own crop, the shipped affect model(s) through the
 * server's loader, and face-api's expression net (tfjs) on its own crop (scale 2.8, MODEL_CARD.md "Teachers").
 * Scores each model alone and the weighted geometric mean of an affect model's and face-api's 7 expression
 * probabilities: equal weights, and the weight chosen on one dev set and reported on the other.
 *
 *   npx tsx models/scripts/ensemble-ceiling.ts --data DATA [--teachers models/cache] [--out models/cache/ensemble] \
 *       [--python models/.venv/bin/python] [--faceapi-onnx models/cache/faceapi-expression.onnx] [--mirror] [MODEL.onnx ...]
 *
 * DATA holds expressions/ (labels.csv, images/) and ferplus/ (labels.csv, images/), as for make-crops.ts. Models
 * default to the shipped fp32 and int8 files. The dev sets and their labels are the training pipeline's own
 * (python: fpnmaa.prepare.split for the in-the-wild validation split by person, fpnmaa.prepare.vote_targets for the
 * FER+ majority, fpnmaa.evaluate.clear_majority for its >= 7 of 10 votes part), computed on the faces found here.
 * Writes into --out: report.json (every number printed) and predictions.jsonl (per scored face: set, file, label,
 * each model's probabilities in paper order), for later fusion experiments without re-running the models.
 * --faceapi-onnx adds face-api's net ported to ONNX (fpnmaa/faceapi_net.py), on the crop the server's aligner cuts at
 * face-api's geometry, and its parity with the tfjs original on every scored face (max |dp|, top-1 agreement).
 * --mirror also runs every model on the mirror image of its crop and scores each model's two views fused (equal-weight
 * geometric mean), alone and in the two-model ensemble: the cheapest teacher better than one view, if it is.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createFaceAligner, createFaceDetector, createSessionFactory, loadAffectModel, type AffectModel } from '../../server/src/vision/index.ts';
import type { AffectPrediction, FaceDetection, RgbImage } from '../../server/src/vision/types.ts';
import { argmax, bestWeight, expressionScores, geometricMean, type ExpressionScores } from './ensemble.ts';
import { loadFaceApiOnnx } from './faceapiOnnx.ts';
import { mirrorHWC, mirrorNCHW } from './mirror.ts';
import { FERPLUS_FRAME, framed, loadImage } from './image.ts';
import { expressionImages, ferplusImages, type LabelledImage } from './labelledImages.ts';
import { cropHWC, loadTeachers, PAPER_EXPRESSIONS, TEACHER_CROPS } from './teachers.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string' },
    teachers: { type: 'string', default: 'models/cache' },
    out: { type: 'string', default: 'models/cache/ensemble' },
    python: { type: 'string', default: 'models/.venv/bin/python' },
    'faceapi-scale': { type: 'string', default: '2.8' },
    'faceapi-onnx': { type: 'string' },
    mirror: { type: 'boolean', default: false },
    batch: { type: 'string', default: '16' },
  },
});
if (!values.data) throw new Error('usage: ensemble-ceiling.ts --data DIR [MODEL.onnx ...]');
const modelPaths = positionals.length > 0 ? positionals : ['models/affect/fpn-maa-realtime.onnx', 'models/affect/fpn-maa-realtime.int8.onnx'];
const faceApiCrop = { ...TEACHER_CROPS.faceapi.crop, scale: Number(values['faceapi-scale']) };
const batchSize = Number(values.batch);
// From 0.3 up to 1 (the affect model alone): on these sets the best weight can lie at the top end.
const WEIGHTS = Array.from({ length: 15 }, (_, i) => +(0.3 + 0.05 * i).toFixed(2));

const items = [...expressionImages(values.data), ...ferplusImages(join(values.data, 'ferplus'), 'valid')];

const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });
const detectors = [await createFaceDetector({ sessions, model: 'front128' }), await createFaceDetector({ sessions, model: 'back256' })];
const imageOf = (item: LabelledImage): RgbImage => (item.source === 'ferplus' ? framed(loadImage(item.path), FERPLUS_FRAME) : loadImage(item.path));

// Pass 1: the detections, as make-crops.ts finds them (labelled images: front128 first, its first face). The
// in-the-wild split is drawn over every face found, so every labelled image is read once here.
const t0 = Date.now();
const found: { item: LabelledImage; detection: FaceDetection }[] = [];
for (const [k, item] of items.entries()) {
  const image = imageOf(item);
  for (const detector of detectors) {
    const [detection] = await detector.detect(image);
    if (detection) {
      found.push({ item, detection });
      break;
    }
  }
  if (k % 2000 === 0) console.log(`detect ${k}/${items.length}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
console.log(`${found.length} of ${items.length} images with a face`);

// The dev sets by the training pipeline's own code.
mkdirSync(values.out, { recursive: true });
const metaPath = join(values.out, 'faces.jsonl');
writeFileSync(metaPath, found.map(({ item: { path: _path, ...record } }) => JSON.stringify(record)).join('\n') + '\n');
const devSetsPy = `
import json, sys
import numpy as np
from fpnmaa.prepare import split, vote_targets
from fpnmaa.evaluate import clear_majority
meta = [json.loads(line) for line in open(sys.argv[1])]
is_val, _, labels, _, _ = split(meta, sys.argv[2])
_, major, fer_val = vote_targets(meta)
fer = np.where(fer_val & (major >= 0))[0]
itw = np.where(is_val & (labels >= 0))[0]
print(json.dumps({"itw": itw.tolist(), "itw_label": labels[itw].tolist(), "fer": fer.tolist(), "fer_label": major[fer].tolist(),
                  "clear": clear_majority(meta, fer).tolist()}))
`;
const py = spawnSync(resolve(values.python), ['-c', devSetsPy, resolve(metaPath), resolve(values.data)], {
  cwd: 'models',
  encoding: 'utf8',
  maxBuffer: 1 << 26,
});
if (py.status !== 0) throw new Error(`dev-set labels (python) failed (models/setup.sh creates ${values.python}): ${py.error ?? py.stderr}`);
const sets = JSON.parse(py.stdout) as { itw: number[]; itw_label: number[]; fer: number[]; fer_label: number[]; clear: number[] };

// Pass 2: every model on every dev-set face.
const models: AffectModel[] = [];
for (const p of modelPaths) {
  const model = await loadAffectModel(p, { sessions });
  if (model.info.expressionLabels.join() !== PAPER_EXPRESSIONS.join()) throw new Error(`${p}: expression labels ${model.info.expressionLabels} are not the paper's`);
  models.push(model);
}
const aligners = models.map((m) => createFaceAligner(m.info));
const teachers = await loadTeachers(values.teachers);
const port = values['faceapi-onnx'] ? await loadFaceApiOnnx(values['faceapi-onnx'], sessions, faceApiCrop) : undefined;
const scored = [...sets.itw, ...sets.fer];
// [model][face][class]: the affect models, face-api (tfjs), the ONNX port if any
const probs: number[][][] = [...models.map(() => [] as number[][]), [], ...(port ? [[]] : [])];
// with --mirror, [model][face][class] on the mirrored crops: the affect models, then face-api (tfjs)
const mirrored: number[][][] = values.mirror ? [...models.map(() => [] as number[][]), []] : [];
for (let i = 0; i < scored.length; i += batchSize) {
  const batch = scored.slice(i, i + batchSize).map((j) => ({ image: imageOf(found[j]!.item), detection: found[j]!.detection }));
  const expression = (out: AffectPrediction[]) => out.map((a) => PAPER_EXPRESSIONS.map((c) => a.expression.probs[c]!));
  for (const [m, model] of models.entries()) {
    const crops = aligners[m]!.align(batch);
    const flipped = values.mirror ? mirrorNCHW(crops, batch.length, model.info.inputSize) : undefined;
    probs[m]!.push(...expression(await model.predict(crops, batch.length)));
    if (flipped) mirrored[m]!.push(...expression(await model.predict(flipped, batch.length)));
  }
  const faceApiCrops = batch.map((f) => cropHWC(f.image, f.detection, 112, faceApiCrop));
  probs[models.length]!.push(...(await teachers.runFaceApi(faceApiCrops)));
  if (values.mirror) mirrored[models.length]!.push(...(await teachers.runFaceApi(faceApiCrops.map((c) => mirrorHWC(c, 112)))));
  if (port) probs[models.length + 1]!.push(...(await port.predict(port.aligner.align(batch), batch.length)));
  if ((i / batchSize) % 50 === 0) console.log(`score ${i}/${scored.length}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
const names = [
  ...models.map((m, k) => `${m.info.version} ${modelPaths[k]!.endsWith('.int8.onnx') ? 'int8' : 'fp32'}`),
  `face-api @ ${faceApiCrop.scale}`,
  ...(port ? [`face-api ONNX port @ ${faceApiCrop.scale}`] : []),
];

const position = new Map(scored.map((j, k) => [j, k]));
const labelOf = new Map([...sets.itw.map((j, k) => [j, sets.itw_label[k]!] as const), ...sets.fer.map((j, k) => [j, sets.fer_label[k]!] as const)]);
const devSets = { in_the_wild_val: sets.itw, ferplus_valid: sets.fer, ferplus_valid_clear: sets.clear };
writeFileSync(
  join(values.out, 'predictions.jsonl'),
  scored
    .map((j, k) => {
      const round = (p: number[]) => p.map((v) => +v.toFixed(5));
      const views = [...names.map((n, m) => [n, round(probs[m]![k]!)]), ...mirrored.map((v, m) => [`${names[m]}, mirrored crop`, round(v[k]!)])];
      return JSON.stringify({ set: k < sets.itw.length ? 'in_the_wild_val' : 'ferplus_valid', file: found[j]!.item.file, label: labelOf.get(j), probs: Object.fromEntries(views) });
    })
    .join('\n') + '\n',
);

type Predictor = (k: number) => number[];
const faceApi = probs[models.length]!;
const predictors: [string, Predictor][] = names.map((n, m) => [n, (k: number) => probs[m]![k]!]);
for (const [m] of models.entries()) predictors.push([`geometric mean ${names[m]} + face-api, w 0.5`, (k) => geometricMean(probs[m]![k]!, faceApi[k]!, 0.5)]);
if (values.mirror) {
  const twoViews = (m: number) => (k: number) => geometricMean(probs[m]![k]!, mirrored[m]![k]!, 0.5);
  for (const m of mirrored.keys()) predictors.push([`${names[m]}, crop + mirror`, twoViews(m)]);
  for (const [m] of models.entries())
    predictors.push([`geometric mean ${names[m]} + face-api, each crop + mirror, w 0.5`, (k) => geometricMean(twoViews(m)(k), twoViews(models.length)(k), 0.5)]);
}

const on = (rows: number[]) => ({ y: rows.map((j) => labelOf.get(j)!), ks: rows.map((j) => position.get(j)!) });
const report: Record<string, unknown> = { faces: found.length, images: items.length, sets: Object.fromEntries(Object.entries(devSets).map(([s, r]) => [s, r.length])), scores: {} as Record<string, Record<string, ExpressionScores>>, sweep: {} as Record<string, unknown> };
const scores = report.scores as Record<string, Record<string, ExpressionScores>>;
for (const [name, predict] of predictors) {
  scores[name] = {};
  for (const [set, rows] of Object.entries(devSets)) {
    const { y, ks } = on(rows);
    scores[name]![set] = expressionScores(y, ks.map(predict), 7);
  }
}
// The fused weight (on the affect model) chosen by accuracy on one set, reported on the others.
const sweep = report.sweep as Record<string, unknown>;
for (const [m] of models.entries()) {
  for (const [chooseOn, reportOn] of [['in_the_wild_val', ['ferplus_valid', 'ferplus_valid_clear']], ['ferplus_valid', ['in_the_wild_val']]] as const) {
    const { y, ks } = on(devSets[chooseOn]);
    const { weight } = bestWeight(y, ks.map((k) => probs[m]![k]!), ks.map((k) => faceApi[k]!), WEIGHTS);
    const name = `geometric mean ${names[m]} + face-api, w ${weight} (chosen on ${chooseOn})`;
    scores[name] = {};
    for (const set of reportOn) {
      const t = on(devSets[set]);
      scores[name]![set] = expressionScores(t.y, t.ks.map((k) => geometricMean(probs[m]![k]!, faceApi[k]!, weight)), 7);
    }
  }
  sweep[names[m]!] = Object.fromEntries(
    Object.entries(devSets).map(([set, rows]) => {
      const { y, ks } = on(rows);
      return [set, WEIGHTS.map((w) => ({ w, ...expressionScores(y, ks.map((k) => geometricMean(probs[m]![k]!, faceApi[k]!, w)), 7), recall: undefined }))];
    }),
  );
}
if (port) {
  const ported = probs[models.length + 1]!;
  const maxAbs = Math.max(...ported.flatMap((p, k) => p.map((v, c) => Math.abs(v - faceApi[k]![c]!))));
  const top1 = ported.filter((p, k) => argmax(p) === argmax(faceApi[k]!)).length / ported.length;
  report.parity = { faces: ported.length, maxAbsProbDiff: maxAbs, top1Agreement: top1 };
  console.log(`ONNX port vs tfjs on ${ported.length} faces: max |dp| ${maxAbs.toExponential(2)}, top-1 agreement ${top1.toFixed(4)}`);
}
// How differently the two err: the share of faces where at least one of them is right (an oracle picking the right
// one of the two; a fusion that only ever picks one of their top classes reaches no more).
report.eitherRight = Object.fromEntries(
  models.map((_, m) => [
    names[m]!,
    Object.fromEntries(
      Object.entries(devSets).map(([set, rows]) => {
        const { y, ks } = on(rows);
        return [set, ks.filter((k, i) => argmax(probs[m]![k]!) === y[i] || argmax(faceApi[k]!) === y[i]).length / ks.length];
      }),
    ),
  ]),
);
writeFileSync(join(values.out, 'report.json'), JSON.stringify(report, null, 1));

const f = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(3));
console.log('\n| model | set | n | accuracy | macro-F1 | recall N / An / Di / Fe / Ha / Sa / Su |\n|---|---|---|---|---|---|');
for (const [name, bySet] of Object.entries(scores))
  for (const [set, s] of Object.entries(bySet)) console.log(`| ${name} | ${set} | ${s.n} | ${f(s.accuracy)} | ${f(s.macroF1)} | ${s.recall.map((r) => (Number.isNaN(r) ? '-' : r.toFixed(2))).join(' / ')} |`);
console.log('\nweight sweep (w on the affect model): accuracy / macro-F1');
for (const [name, bySet] of Object.entries(sweep))
  for (const [set, list] of Object.entries(bySet as Record<string, { w: number; accuracy: number; macroF1: number }[]>))
    console.log(`${name} ${set}: ${list.map((s) => `${s.w} ${f(s.accuracy)}/${f(s.macroF1)}`).join(', ')}`);
console.log('\neither right (affect model or face-api):', JSON.stringify(report.eitherRight));
console.log(`\n${((Date.now() - t0) / 1000).toFixed(0)} s; wrote ${values.out}/report.json, predictions.jsonl`);
for (const d of detectors) await d.release();
for (const m of models) await m.release();
await port?.release();
