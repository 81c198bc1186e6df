/**
 * Jitter against lag of the causal affect smoothing on the talking-head face video: the measurement the
 * SMOOTH_* defaults are chosen by.
 *   npm run bench:smoothing [-- --seconds 53] [--max-lag-ms 150] [--json file]
 * The clip (all 53 s by default; test/helpers/faceVideo.ts caches it as y4m, 0.6 GB) is decoded at 15 fps,
 * 640x480, and frame i is stamped i * 1000/15 ms, so the run is offline and deterministic. The configured detector
 * and affect model and the tracker run once over it; the main track's raw predictions are then replayed through the
 * pipeline's own smoothing operator, for the defaults and a grid. The three filters (valence/arousal, expression,
 * AUs) touch disjoint outputs, so each is measured and chosen on its own with the other two at their defaults.
 *
 * Jitter: valence and arousal |Δ| frame to frame (median, p95) and the RMS of their second difference (frame
 * noise, not the slow course of the signal); expression label flips per second and the top probability's |Δ|;
 * AU active-flag toggles per second, summed over the AUs.
 * Lag, per filter over its channels (valence and arousal; expression probabilities; AU probabilities):
 * - step: how much later the smoothed signal crosses the midpoint of the clip's largest steps than the raw one
 *   (median over the 5 largest, 1 s apart at least): what a user waits for a change to show half-way;
 * - xcorr: the delay at which the smoothed signal best correlates with the raw one, sub-frame by a parabola
 *   through the peak; for an EMA below its step lag, as frame noise, which a filter passes at no delay, weighs in.
 * The lag of a setting is the larger of the two: One-Euro speeds up on large steps, so its step lag alone would
 * hide how late it follows small changes. Hysteresis delays only the release of an AU flag, which neither shows.
 * Rule, per filter: of the settings whose lag is at most --max-lag-ms, those within 20% of the least jitter
 * (second-difference RMS, flips/s, toggles/s) count as equally smooth, and the one with the least lag wins: a
 * smaller difference is not worth waiting longer for.
 */
import { parseArgs } from 'node:util';
import { from, lastValueFrom, toArray } from 'rxjs';
import { loadConfig } from '../server/src/config.ts';
import { AU_RELEASE_GAP, auThresholdsFromModel, type AffectSmoothingOptions } from '../server/src/pipeline/affectSmoothing.ts';
import { smoothAffect, type AffectFrame } from '../server/src/pipeline/smoothAffect.ts';
import { trackFaces } from '../server/src/pipeline/trackFaces.ts';
import {
  createFaceAligner,
  createFaceDetector,
  createSessionFactory,
  loadAffectModel,
  type AffectPrediction,
  type FaceDetection,
} from '../server/src/vision/index.ts';
import { faceVideoY4m } from '../test/helpers/faceVideo.ts';
import { describeMachine, writeResults } from './lib/report.ts';
import { rgbFrames } from './lib/rgbFrames.ts';
import { fmt, median, quantile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '53' },
    'max-lag-ms': { type: 'string', default: '150' },
    json: { type: 'string' },
  },
});
const maxLagMs = Number(values['max-lag-ms']);
const FPS = 15;
const FRAME_MS = 1000 / FPS;
const WIDTH = 640;
const HEIGHT = 480;
/** Frames averaged on each side of a step (about half a second), and how many steps the step lag is taken over. */
const STEP_WINDOW = 8;
const STEPS = 5;
// The smoothing requires off < on; a gap this small is a plain threshold.
const NO_HYSTERESIS = 1e-9;
// The smoothing requires tau > 0; at 1 µs exp(-dt / tau) underflows to 0, so every sample passes whole.
const NO_EMA_MS = 1e-3;
const JITTER_TOLERANCE = 0.2;

interface Series {
  timeMs: number[];
  predictions: AffectPrediction[];
}

function trackSeries(frames: readonly AffectFrame[], id: number): Series {
  const series: Series = { timeMs: [], predictions: [] };
  for (const frame of frames) {
    const face = frame.faces.find((f) => f.id === id);
    if (!face) continue;
    series.timeMs.push(frame.timeMs);
    series.predictions.push(face.prediction);
  }
  return series;
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const rms = (xs: readonly number[]) => Math.sqrt(mean(xs.map((x) => x * x)));
const absDiffs = (xs: readonly number[]) => xs.slice(1).map((x, i) => Math.abs(x - xs[i]!));
const secondDiffs = (xs: readonly number[]) => xs.slice(2).map((x, i) => x - 2 * xs[i + 1]! + xs[i]!);
const changes = <T>(xs: readonly T[]) => xs.slice(1).filter((x, i) => x !== xs[i]).length;

/** Pearson correlation of smoothed[t] with raw[t - k], pooled over channels (covariances summed). */
function pooledCorrelation(raw: readonly number[][], smoothed: readonly number[][], k: number): number {
  let cov = 0;
  let varRaw = 0;
  let varSmoothed = 0;
  raw.forEach((r, c) => {
    const s = smoothed[c]!;
    const n = r.length - k;
    const meanR = mean(r.slice(0, n));
    const meanS = mean(s.slice(k));
    for (let i = 0; i < n; i++) {
      const dr = r[i]! - meanR;
      const ds = s[i + k]! - meanS;
      cov += dr * ds;
      varRaw += dr * dr;
      varSmoothed += ds * ds;
    }
  });
  return cov / Math.sqrt(varRaw * varSmoothed);
}

/** Delay (ms, up to 1 s) of the best pooled correlation; 0 when the channels never move. */
function xcorrLagMs(raw: readonly number[][], smoothed: readonly number[][]): number {
  const r = Array.from({ length: FPS + 1 }, (_, k) => pooledCorrelation(raw, smoothed, k));
  if (!r.every(Number.isFinite)) return 0;
  const k = r.indexOf(Math.max(...r));
  const [before, peak, after] = [r[k - 1], r[k]!, r[k + 1]];
  if (before === undefined || after === undefined) return k * FRAME_MS;
  const curvature = before - 2 * peak + after;
  return (k + (curvature < 0 ? (before - after) / (2 * curvature) : 0)) * FRAME_MS;
}

interface Step {
  channel: number;
  /** First frame after the step. */
  at: number;
  before: number;
  after: number;
}

/** The largest changes of the window means on either side of a frame, over all channels, `2 * STEP_WINDOW` apart. */
function largestSteps(channels: readonly number[][]): Step[] {
  const candidates: Step[] = channels.flatMap((x, channel) =>
    Array.from({ length: x.length - 2 * STEP_WINDOW + 1 }, (_, i) => {
      const at = i + STEP_WINDOW;
      return { channel, at, before: mean(x.slice(i, at)), after: mean(x.slice(at, at + STEP_WINDOW)) };
    }),
  );
  candidates.sort((a, b) => Math.abs(b.after - b.before) - Math.abs(a.after - a.before));
  const steps: Step[] = [];
  for (const c of candidates) {
    if (steps.length === STEPS) break;
    if (steps.every((s) => Math.abs(s.at - c.at) >= 2 * STEP_WINDOW)) steps.push(c);
  }
  return steps;
}

/** When (in frames, interpolated) `x` first passes the step's midpoint from its `before` side; Infinity if never. */
function midpointCrossing(x: readonly number[], step: Step): number {
  const mid = (step.before + step.after) / 2;
  const side = (v: number) => Math.sign(v - mid) * Math.sign(step.after - step.before);
  for (let i = step.at - STEP_WINDOW + 1; i < x.length; i++) {
    const [prev, cur] = [x[i - 1]!, x[i]!];
    if (side(prev) < 0 && side(cur) >= 0) return i - 1 + (mid - prev) / (cur - prev);
  }
  return Number.POSITIVE_INFINITY;
}

function stepLagMs(steps: readonly Step[], raw: readonly number[][], smoothed: readonly number[][]): number {
  const delays = steps.map((s) => midpointCrossing(smoothed[s.channel]!, s) - midpointCrossing(raw[s.channel]!, s));
  return median(delays) * FRAME_MS;
}

interface Wiggle {
  deltaP50: number;
  deltaP95: number;
  secondDiffRms: number;
}

function wiggle(xs: readonly number[]): Wiggle {
  const deltas = absDiffs(xs);
  return { deltaP50: median(deltas), deltaP95: quantile(deltas, 0.95), secondDiffRms: rms(secondDiffs(xs)) };
}

interface Lag {
  stepMs: number;
  xcorrMs: number;
  /** Expression only: how long after the raw label settles on a new class the shown label follows. */
  labelMs?: number;
}

interface Metrics {
  valence: Wiggle;
  arousal: Wiggle;
  vaLag: Lag;
  flipsPerS: number;
  topDeltaP50: number;
  topDeltaP95: number;
  expressionLag: Lag;
  auTogglesPerS: number;
  auLag: Lag;
}

/** The channels each filter smooths, one array of values per channel. */
const channelsOf = {
  va: (ps: readonly AffectPrediction[]) => [ps.map((p) => p.valence), ps.map((p) => p.arousal)],
  expression: (ps: readonly AffectPrediction[]) =>
    Object.keys(ps[0]!.expression.probs).map((label) => ps.map((p) => p.expression.probs[label]!)),
  au: (ps: readonly AffectPrediction[]) => Object.keys(ps[0]!.aus).map((name) => ps.map((p) => p.aus[name]!.p)),
};

/** A raw label that holds at least this long is a real change, not a flicker. */
const SETTLED_LABEL_MS = 500;

/** Mean delay from each settled raw label change until the smoothed label shows it (capped at the hold). */
function labelLagMs(raw: Series, smoothed: Series): number {
  const r = raw.predictions.map((p) => p.expression.label);
  const s = smoothed.predictions.map((p) => p.expression.label);
  const t = raw.timeMs;
  const delays: number[] = [];
  for (let i = 1; i < r.length; i++) {
    if (r[i] === r[i - 1]) continue;
    let end = i;
    while (end < r.length && r[end] === r[i]) end++;
    if (t[end - 1]! - t[i]! < SETTLED_LABEL_MS) continue;
    let k = i;
    while (k < end && s[k] !== r[i]) k++;
    delays.push(t[Math.min(k, end - 1)]! - t[i]!);
  }
  return delays.length ? delays.reduce((a, b) => a + b, 0) / delays.length : 0;
}

function measure(raw: Series, steps: Record<keyof typeof channelsOf, Step[]>, smoothed: Series): Metrics {
  const ps = smoothed.predictions;
  const seconds = (smoothed.timeMs.at(-1)! - smoothed.timeMs[0]!) / 1000;
  const lag = (channels: keyof typeof channelsOf): Lag => {
    const [r, s] = [channelsOf[channels](raw.predictions), channelsOf[channels](ps)];
    return { stepMs: stepLagMs(steps[channels], r, s), xcorrMs: xcorrLagMs(r, s) };
  };
  const topDeltas = absDiffs(ps.map((p) => Math.max(...Object.values(p.expression.probs))));
  const auNames = Object.keys(ps[0]!.aus);
  return {
    valence: wiggle(ps.map((p) => p.valence)),
    arousal: wiggle(ps.map((p) => p.arousal)),
    vaLag: lag('va'),
    flipsPerS: changes(ps.map((p) => p.expression.label)) / seconds,
    topDeltaP50: median(topDeltas),
    topDeltaP95: quantile(topDeltas, 0.95),
    expressionLag: { ...lag('expression'), labelMs: labelLagMs(raw, smoothed) },
    auTogglesPerS: auNames.reduce((sum, name) => sum + changes(ps.map((p) => p.aus[name]!.active)), 0) / seconds,
    auLag: lag('au'),
  };
}

// Raw predictions: decode, detect, infer and track once.

const config = loadConfig();
// The defaults are what is measured, whatever SMOOTH_* the environment sets.
const defaults = loadConfig({}).analysis;
const file = await faceVideoY4m(Number(values.seconds));
let provider = '';
const sessions = createSessionFactory({
  provider: config.vision.provider,
  intraOpThreads: config.vision.intraOpThreads,
  interOpThreads: config.vision.interOpThreads,
  log: (line) => (provider = line),
});
const detector = await createFaceDetector({
  sessions,
  model: config.vision.detectorModel,
  minScore: config.vision.detectorMinScore,
});
const model = await loadAffectModel(config.vision.affectModelPath, { sessions });
const aligner = createFaceAligner(model.info);

const started = performance.now();
const inferred: { timeMs: number; faces: { detection: FaceDetection; prediction: AffectPrediction }[] }[] = [];
for await (const image of rgbFrames(file, { fps: FPS, width: WIDTH, height: HEIGHT })) {
  const detections = await detector.detect(image);
  const crops = aligner.align(detections.map((detection) => ({ image, detection })));
  const predictions = await model.predict(crops, detections.length);
  inferred.push({ timeMs: inferred.length * FRAME_MS, faces: detections.map((detection, i) => ({ detection, prediction: predictions[i]! })) });
}
const inferMs = (performance.now() - started) / inferred.length;
await detector.release();
await model.release();

const tracked: AffectFrame[] = await lastValueFrom(
  from(inferred).pipe(
    trackFaces(defaults.tracking),
    toArray(),
  ),
);
const framesPerId = new Map<number, number>();
for (const frame of tracked) for (const { id } of frame.faces) framesPerId.set(id, (framesPerId.get(id) ?? 0) + 1);
const [mainId] = [...framesPerId].reduce((best, entry) => (entry[1] > best[1] ? entry : best), [0, 0]);
const raw = trackSeries(tracked, mainId);
if (raw.predictions.length < 2 * STEP_WINDOW * STEPS) {
  throw new Error(`the main track has ${raw.predictions.length} frames: too few to measure`);
}
const steps = {
  va: largestSteps(channelsOf.va(raw.predictions)),
  expression: largestSteps(channelsOf.expression(raw.predictions)),
  au: largestSteps(channelsOf.au(raw.predictions)),
};

// Replay through the smoothing.

/** What the grid varies: the SMOOTH_* settings, and the AU hysteresis the service wires from the model. */
interface Params {
  vaMinCutoffHz: number;
  vaBeta: number;
  expressionTauMs: number;
  expressionSwitchMargin: number;
  auTauMs: number;
  auHysteresis: boolean;
}

const current: Params = { ...defaults.smoothing, auHysteresis: true };

/** The smoothing options for `p`, as affectService.ts builds them from the configuration and the model. */
function smoothingOptions(p: Params): AffectSmoothingOptions {
  const gap = p.auHysteresis ? AU_RELEASE_GAP : NO_HYSTERESIS;
  return {
    valenceArousal: { minCutoffHz: p.vaMinCutoffHz, beta: p.vaBeta, derivativeCutoffHz: 1 },
    expressionTauMs: p.expressionTauMs || NO_EMA_MS,
    expressionSwitchMargin: p.expressionSwitchMargin,
    auTauMs: p.auTauMs || NO_EMA_MS,
    auThresholds: { on: 0.5, off: 0.35 },
    auThresholdsByName: auThresholdsFromModel(model.info.auLabels, model.info.auThresholds, gap),
  };
}

async function smoothed(p: Params): Promise<Metrics> {
  const frames = await lastValueFrom(from(tracked).pipe(smoothAffect(smoothingOptions(p)), toArray()));
  return measure(raw, steps, trackSeries(frames, mainId));
}

type Column = [header: string, cell: (m: Metrics) => string];

interface Row {
  change: Partial<Params>;
  params: Params;
  isDefault: boolean;
  metrics: Metrics;
}

interface Filter {
  name: string;
  grid: Partial<Params>[];
  label: (p: Params) => string;
  /** The jitter the rule minimises. */
  jitter: (m: Metrics) => number;
  lag: (m: Metrics) => Lag;
  columns: Column[];
}

const wiggleColumns = (name: 'valence' | 'arousal'): Column[] => [
  [`${name[0]} |Δ| p50`, (m) => fmt(m[name].deltaP50, 4)],
  [`${name[0]} |Δ| p95`, (m) => fmt(m[name].deltaP95, 4)],
  [`${name[0]} Δ² rms`, (m) => fmt(m[name].secondDiffRms, 4)],
];
const lagColumns = (name: string, lag: (m: Metrics) => Lag): Column[] => [
  [`${name} step lag ms`, (m) => fmt(lag(m).stepMs, 0)],
  [`${name} xcorr lag ms`, (m) => fmt(lag(m).xcorrMs, 0)],
];

const filters: Filter[] = [
  {
    name: 'valence/arousal (One-Euro)',
    grid: [0.2, 0.3, 0.5, 1, 2].flatMap((vaMinCutoffHz) => [0, 0.5, 2].map((vaBeta) => ({ vaMinCutoffHz, vaBeta }))),
    label: (p) => `min cutoff ${p.vaMinCutoffHz} Hz, beta ${p.vaBeta}`,
    jitter: (m) => Math.hypot(m.valence.secondDiffRms, m.arousal.secondDiffRms) / Math.SQRT2,
    lag: (m) => m.vaLag,
    columns: [...wiggleColumns('valence'), ...wiggleColumns('arousal'), ...lagColumns('va', (m) => m.vaLag)],
  },
  {
    name: 'expression (EMA on probabilities, label switches past a margin)',
    // The probabilities are shown too (confidence, dashboard shares), so the margin is tried on top of the
    // default time constant rather than instead of it.
    grid: [
      ...[0, 150, 200, 300, 600].map((expressionTauMs) => ({ expressionTauMs, expressionSwitchMargin: 0 })),
      ...[0.05, 0.1, 0.2].map((expressionSwitchMargin) => ({ expressionSwitchMargin })),
    ],
    label: (p) => `tau ${p.expressionTauMs} ms, margin ${p.expressionSwitchMargin}`,
    jitter: (m) => m.flipsPerS,
    lag: (m) => m.expressionLag,
    columns: [
      ['flips/s', (m) => fmt(m.flipsPerS, 2)],
      ['top p |Δ| p50', (m) => fmt(m.topDeltaP50, 4)],
      ['top p |Δ| p95', (m) => fmt(m.topDeltaP95, 4)],
      ...lagColumns('expr', (m) => m.expressionLag),
      ['label lag ms', (m) => fmt(m.expressionLag.labelMs ?? 0, 0)],
    ],
  },
  {
    name: 'AUs (EMA on probabilities, hysteresis on the flags)',
    grid: [0, 100, 200, 400].flatMap((auTauMs) => [true, false].map((auHysteresis) => ({ auTauMs, auHysteresis }))),
    label: (p) => `tau ${p.auTauMs} ms, hysteresis ${p.auHysteresis ? AU_RELEASE_GAP : 'off'}`,
    jitter: (m) => m.auTogglesPerS,
    lag: (m) => m.auLag,
    columns: [['AU toggles/s', (m) => fmt(m.auTogglesPerS, 2)], ...lagColumns('AU', (m) => m.auLag)],
  },
];

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, c) => cell.padStart(widths[c]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const rawMetrics = measure(raw, steps, raw);
const currentMetrics = await smoothed(current);

console.log(describeMachine());
console.log(provider);
console.log(
  `face video ${values.seconds} s at ${FPS} fps: ${inferred.length} frames, detect + infer ${fmt(inferMs)} ms/frame; ` +
    `main track ${raw.predictions.length} frames of ${framesPerId.size} track(s); ` +
    `model ${model.info.name} ${model.info.version}`,
);
console.log(
  `rule per filter: lag = the largest of step, xcorr and (expression) label lag; of the settings with lag <= ${maxLagMs} ms, ` +
    `those within ${100 * JITTER_TOLERANCE}% of the least jitter tie, and the least lag of them is chosen (*)\n`,
);

let chosen = current;
const grids: { filter: string; chosen: string | undefined; rows: { setting: string; metrics: Metrics }[] }[] = [];
for (const filter of filters) {
  const rows: Row[] = [];
  for (const change of filter.grid) {
    const params = { ...current, ...change };
    const isDefault = Object.entries(change).every(([key, value]) => current[key as keyof Params] === value);
    rows.push({ change, params, isDefault, metrics: await smoothed(params) });
  }
  const lagMs = (m: Metrics) => Math.max(filter.lag(m).stepMs, filter.lag(m).xcorrMs, filter.lag(m).labelMs ?? 0);
  rows.sort((a, b) => filter.jitter(a.metrics) - filter.jitter(b.metrics) || lagMs(a.metrics) - lagMs(b.metrics));
  const inBudget = rows.filter((row) => lagMs(row.metrics) <= maxLagMs);
  const smoothest = Math.min(...inBudget.map((row) => filter.jitter(row.metrics)));
  const [pick] = inBudget
    .filter((row) => filter.jitter(row.metrics) <= smoothest * (1 + JITTER_TOLERANCE))
    .sort((a, b) => lagMs(a.metrics) - lagMs(b.metrics));
  if (pick) chosen = { ...chosen, ...pick.change };
  const label = (row: Row) =>
    `${row === pick ? '* ' : ''}${filter.label(row.params)}${row.isDefault ? ' (default)' : ''}`;
  const cells = (m: Metrics) => filter.columns.map(([, cell]) => cell(m));
  console.log(`${filter.name}, least jitter first`);
  console.log(
    table(
      ['setting', ...filter.columns.map(([h]) => h)],
      [['raw', ...cells(rawMetrics)], ...rows.map((row) => [label(row), ...cells(row.metrics)])],
    ),
  );
  console.log(pick ? '' : `no setting within ${maxLagMs} ms: the default stays\n`);
  grids.push({
    filter: filter.name,
    chosen: pick && filter.label(pick.params),
    rows: rows.map((row) => ({ setting: filter.label(row.params), metrics: row.metrics })),
  });
}

const chosenMetrics = await smoothed(chosen);
const columns = filters.flatMap((f) => f.columns);
console.log('raw vs current defaults vs chosen');
console.log(
  table(
    ['', ...columns.map(([h]) => h)],
    ([['raw', rawMetrics], ['current defaults', currentMetrics], ['chosen', chosenMetrics]] as const).map(([name, m]) => [
      name,
      ...columns.map(([, cell]) => cell(m)),
    ]),
  ),
);
console.log(`\ncurrent: ${JSON.stringify(current)}\nchosen:  ${JSON.stringify(chosen)}`);

writeResults(values.json, 'smoothing', {
  clip: {
    seconds: Number(values.seconds),
    fps: FPS,
    frames: inferred.length,
    mainTrackFrames: raw.predictions.length,
    tracks: framesPerId.size,
  },
  rule: { maxLagMs, jitterTolerance: JITTER_TOLERANCE },
  steps,
  raw: rawMetrics,
  current: { params: current, metrics: currentMetrics },
  chosen: { params: chosen, metrics: chosenMetrics },
  grids,
});
