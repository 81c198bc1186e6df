import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { accuracy, ccc, f1Binary, macroF1, perClassRecall } from '../../models/scripts/metrics.ts';

// Hand-computed cases shared with the Python metrics (models/fpnmaa/selftest.py checks the same file).
const cases = JSON.parse(readFileSync(fileURLToPath(new URL('../../models/fpnmaa/metric_cases.json', import.meta.url)), 'utf8'));

describe('model metrics against hand-computed values', () => {
  it('accuracy', () => {
    for (const c of cases.accuracy) expect(accuracy(c.true, c.pred)).toBeCloseTo(c.expected, 12);
  });
  it('binary F1 (0 when undefined)', () => {
    for (const c of cases.f1_binary) expect(f1Binary(c.true, c.pred)).toBeCloseTo(c.expected, 12);
  });
  it('macro F1 over all classes', () => {
    for (const c of cases.macro_f1) expect(macroF1(c.true, c.pred, c.n)).toBeCloseTo(c.expected, 12);
  });
  it('per-class recall', () => {
    for (const c of cases.per_class_recall) {
      perClassRecall(c.true, c.pred, c.n).forEach((r, i) => expect(r).toBeCloseTo(c.expected[i], 12));
    }
  });
  it('CCC', () => {
    for (const c of cases.ccc) expect(ccc(c.x, c.y)).toBeCloseTo(c.expected, 12);
  });
});
