import { describe, expect, it } from 'vitest';
import { argmax, bestWeight, expressionScores, geometricMean } from '../../models/scripts/ensemble.ts';

describe('expression ensemble fusion', () => {
  it('the weighted geometric mean, renormalised, against hand-computed values', () => {
    // sqrt(0.6 * 0.2) = 0.34641, sqrt(0.4 * 0.8) = 0.56569 -> 0.37980 / 0.62020
    const p = geometricMean([0.6, 0.4], [0.2, 0.8], 0.5);
    expect(p[0]).toBeCloseTo(0.3798, 4);
    expect(p[1]).toBeCloseTo(0.6202, 4);
    // 0.6^0.75 * 0.2^0.25 = 0.45590, 0.4^0.75 * 0.8^0.25 = 0.47568
    const q = geometricMean([0.6, 0.4], [0.2, 0.8], 0.75);
    expect(q[0]).toBeCloseTo(0.45590 / (0.45590 + 0.47568), 4);
  });
  it('weight 1 is the first model alone, weight 0 the second', () => {
    const a = [0.7, 0.2, 0.1];
    const b = [0.1, 0.1, 0.8];
    geometricMean(a, b, 1).forEach((v, i) => expect(v).toBeCloseTo(a[i]!, 9));
    geometricMean(a, b, 0).forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 9));
  });
  it('a zero in one model lowers a class without erasing it', () => {
    const p = geometricMean([1, 0], [0.5, 0.5], 0.5);
    expect(p[1]).toBeGreaterThan(0);
    expect(p[1]).toBeLessThan(0.01);
    expect(p[0]! + p[1]!).toBeCloseTo(1, 12);
  });
  it('refuses mismatched classes and weights outside [0, 1]', () => {
    expect(() => geometricMean([0.5, 0.5], [1], 0.5)).toThrow(RangeError);
    expect(() => geometricMean([0.5, 0.5], [0.5, 0.5], 1.5)).toThrow(RangeError);
    expect(() => geometricMean([0.5, 0.5], [0.5, 0.5], NaN)).toThrow(RangeError);
  });
  it('picks the weight where fusing beats either model alone; a tie goes to the first listed', () => {
    // a is right on face 0 only, b on face 1 only; the equal-weight mean gets both.
    const y = [0, 1];
    const a = [[0.9, 0.1], [0.6, 0.4]];
    const b = [[0.4, 0.6], [0.1, 0.9]];
    expect(bestWeight(y, a, b, [1, 0.5, 0])).toEqual({ weight: 0.5, accuracy: 1 });
    expect(bestWeight(y, a, b, [0.45, 0.5])).toEqual({ weight: 0.45, accuracy: 1 });
    expect(bestWeight(y, a, b, [1, 0])).toEqual({ weight: 1, accuracy: 0.5 });
  });
  it('scores: accuracy, macro F1 over all classes, recall NaN for a class without faces', () => {
    const s = expressionScores([0, 0, 1], [[0.9, 0.1, 0], [0.2, 0.8, 0], [0.3, 0.7, 0]], 3);
    expect(s.n).toBe(3);
    expect(s.accuracy).toBeCloseTo(2 / 3, 12);
    expect(s.recall[0]).toBeCloseTo(0.5, 12);
    expect(s.recall[1]).toBe(1);
    expect(s.recall[2]).toBeNaN();
    // F1: class 0 2/3, class 1 2/3, class 2 0 -> 4/9
    expect(s.macroF1).toBeCloseTo(4 / 9, 12);
    expect(argmax([0.2, 0.5, 0.5])).toBe(1);
  });
});
