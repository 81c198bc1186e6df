/** TypeScript port of models/fpnmaa/metrics.py (same definitions; both checked on models/fpnmaa/metric_cases.json). */

export function accuracy(yTrue: readonly number[], yPred: readonly number[]): number {
  if (yTrue.length === 0) return NaN;
  return yTrue.filter((t, i) => t === yPred[i]).length / yTrue.length;
}

/** F1 of the positive class; 0 when undefined (no positives in truth or prediction). */
export function f1Binary(t: readonly (boolean | number)[], p: readonly (boolean | number)[]): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  t.forEach((ti, i) => {
    const a = Boolean(ti);
    const b = Boolean(p[i]);
    if (a && b) tp++;
    else if (!a && b) fp++;
    else if (a && !b) fn++;
  });
  const d = 2 * tp + fp + fn;
  return d ? (2 * tp) / d : 0;
}

export function perClassRecall(yTrue: readonly number[], yPred: readonly number[], n: number): number[] {
  return Array.from({ length: n }, (_, c) => {
    const idx = yTrue.map((t, i) => (t === c ? i : -1)).filter((i) => i >= 0);
    return idx.length ? idx.filter((i) => yPred[i] === c).length / idx.length : NaN;
  });
}

/** Mean over all n classes of one-vs-rest F1 (ABAW). */
export function macroF1(yTrue: readonly number[], yPred: readonly number[], n: number): number {
  let s = 0;
  for (let c = 0; c < n; c++) s += f1Binary(yTrue.map((t) => t === c), yPred.map((p) => p === c));
  return s / n;
}

/** Concordance correlation coefficient, population moments. */
export function ccc(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let vx = 0;
  let vy = 0;
  let cov = 0;
  for (let i = 0; i < n; i++) {
    vx += (x[i]! - mx) ** 2;
    vy += (y[i]! - my) ** 2;
    cov += (x[i]! - mx) * (y[i]! - my);
  }
  vx /= n;
  vy /= n;
  cov /= n;
  const d = vx + vy + (mx - my) ** 2;
  return d > 0 ? (2 * cov) / d : NaN;
}
