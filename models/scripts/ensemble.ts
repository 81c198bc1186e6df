/** Fusing two expression models' probabilities, and the numbers reported for a fused or single predictor. */
import { accuracy, macroF1, perClassRecall } from './metrics.ts';

/** Probabilities below this count as this, so one model's near-zero cannot veto a class outright. */
const FLOOR = 1e-6;

/**
 * Weighted geometric mean of two probability vectors over the same classes, renormalised: p ~ a^w * b^(1-w).
 * w = 0.5 is the equal-weight ensemble; w = 1 is `a` alone.
 */
export function geometricMean(a: readonly number[], b: readonly number[], w: number): number[] {
  if (a.length !== b.length) throw new RangeError(`geometricMean: ${a.length} vs ${b.length} classes`);
  if (!(w >= 0 && w <= 1)) throw new RangeError(`geometricMean: weight ${w} outside [0, 1]`);
  const logs = a.map((p, i) => w * Math.log(Math.max(p, FLOOR)) + (1 - w) * Math.log(Math.max(b[i]!, FLOOR)));
  const top = Math.max(...logs);
  const e = logs.map((l) => Math.exp(l - top));
  const s = e.reduce((x, y) => x + y, 0);
  return e.map((v) => v / s);
}

export function argmax(p: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
}

export interface ExpressionScores {
  n: number;
  accuracy: number;
  macroF1: number;
  recall: number[];
}

export function expressionScores(yTrue: readonly number[], probs: readonly (readonly number[])[], classes: number): ExpressionScores {
  const pred = probs.map(argmax);
  return { n: yTrue.length, accuracy: accuracy(yTrue, pred), macroF1: macroF1(yTrue, pred, classes), recall: perClassRecall(yTrue, pred, classes) };
}

/** The weight (from `weights`, first wins a tie) whose fused predictions score the highest accuracy on these faces. */
export function bestWeight(
  yTrue: readonly number[],
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  weights: readonly number[],
): { weight: number; accuracy: number } {
  let best = { weight: NaN, accuracy: -1 };
  for (const w of weights) {
    const acc = accuracy(yTrue, a.map((p, i) => argmax(geometricMean(p, b[i]!, w))));
    if (acc > best.accuracy) best = { weight: w, accuracy: acc };
  }
  return best;
}
