import { describe, expect, it } from 'vitest';
import { lowPassAlpha, type OneEuroState, oneEuroStep } from '../../server/src/pipeline/oneEuro.ts';
import { random } from './faceFixtures.ts';

describe('lowPassAlpha', () => {
  it('is 1 / (1 + tau / dt) with tau = 1 / (2 pi fc)', () => {
    // fc 1 Hz: tau = 0.159155 s; dt 0.1 s: 1 / (1 + 1.591549) = 0.385870.
    expect(lowPassAlpha(1, 0.1)).toBeCloseTo(0.385869545095, 12);
    expect(lowPassAlpha(1, 1 / (2 * Math.PI))).toBeCloseTo(0.5, 12);
  });
});

describe('oneEuroStep', () => {
  const still = { minCutoffHz: 1, beta: 0, derivativeCutoffHz: 1 };
  const adaptive = { minCutoffHz: 1, beta: 1, derivativeCutoffHz: 1 };

  it('passes the first sample through', () => {
    expect(oneEuroStep(undefined, 0.7, 1234, adaptive)).toEqual({ x: 0.7, dx: 0, tMs: 1234 });
  });

  it('with beta 0 is a plain low-pass at minCutoffHz', () => {
    const s = oneEuroStep(oneEuroStep(undefined, 0, 0, still), 1, 100, still);
    expect(s.x).toBeCloseTo(0.385869545095, 12);
  });

  it('raises the cutoff with speed (hand-computed)', () => {
    // Step 0 -> 1 at 100 ms: raw speed 10/s; dx = 0.385870 * 10 = 3.858695; cutoff 4.858695 Hz;
    // alpha = 1 / (1 + 1 / (2 pi 4.858695) / 0.1) = 0.753258.
    const s1 = oneEuroStep(oneEuroStep(undefined, 0, 0, adaptive), 1, 100, adaptive);
    expect(s1.dx).toBeCloseTo(3.85869545095, 10);
    expect(s1.x).toBeCloseTo(0.753257518115, 12);
    // Held at 1: raw speed (1 - 0.753258) / 0.1 = 2.467425; dx = 3.858695 + 0.385870 (2.467425 -
    // 3.858695) = 3.321846; cutoff 4.321846 Hz, alpha 0.730744; x = 0.753258 + 0.730744 * 0.246742.
    const s2 = oneEuroStep(s1, 1, 200, adaptive);
    expect(s2.dx).toBeCloseTo(3.32184648504, 10);
    expect(s2.x).toBeCloseTo(0.9335909751, 10);
  });

  it('leaves the state as it was for a sample not later than the last', () => {
    const s: OneEuroState = { x: 0.2, dx: 0.1, tMs: 500 };
    expect(oneEuroStep(s, 0.9, 500, adaptive)).toBe(s);
    expect(oneEuroStep(s, 0.9, 400, adaptive)).toBe(s);
  });

  it('cuts frame-to-frame noise on a still signal', () => {
    const next = random(3);
    const raw = Array.from({ length: 300 }, () => 0.3 + (next() - 0.5) * 0.2);
    let s: OneEuroState | undefined;
    const out = raw.map((x, i) => (s = oneEuroStep(s, x, i * 66, { minCutoffHz: 0.5, beta: 0.5, derivativeCutoffHz: 1 })).x);
    const spread = (xs: number[]) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
    };
    expect(spread(out.slice(30))).toBeLessThan(0.5 * spread(raw.slice(30)));
  });
});
