import { describe, expect, it } from 'vitest';
import {
  type AffectSmoothingState,
  DEFAULT_AFFECT_SMOOTHING,
  emaAlpha,
  hysteresis,
  resolveAffectSmoothing,
  smoothAffectStep,
} from '../../server/src/pipeline/affectSmoothing.ts';
import { oneEuroStep } from '../../server/src/pipeline/oneEuro.ts';
import type { AffectPrediction } from '../../server/src/vision/types.ts';
import { prediction } from './affectFixtures.ts';
import { random } from './faceFixtures.ts';

const options = resolveAffectSmoothing();

/** Runs predictions at the given times through one face's smoothing; returns every output. */
function smooth(samples: [AffectPrediction, number][], o = options): AffectPrediction[] {
  let state: AffectSmoothingState | undefined;
  return samples.map(([raw, t]) => {
    const step = smoothAffectStep(state, raw, t, o);
    state = step.state;
    return step.prediction;
  });
}

const neutral = { neutral: 0.9, happy: 0.1 };
const happy = { neutral: 0.1, happy: 0.9 };

describe('emaAlpha', () => {
  it('is 1 - exp(-dt / tau), 0 for no elapsed time', () => {
    expect(emaAlpha(66, 300)).toBeCloseTo(0.197481202038, 12);
    expect(emaAlpha(0, 300)).toBe(0);
    expect(emaAlpha(-5, 300)).toBe(0);
  });
});

describe('hysteresis', () => {
  it('turns on at on, off at off, and holds in between', () => {
    const t = { on: 0.5, off: 0.35 };
    let active = false;
    const states = [0.4, 0.5, 0.45, 0.36, 0.35, 0.49, 0.51].map((p) => (active = hysteresis(active, p, t)));
    expect(states).toEqual([false, true, true, true, false, false, true]);
  });
});

describe('resolveAffectSmoothing', () => {
  it('fills in defaults and keeps what is given', () => {
    expect(resolveAffectSmoothing()).toEqual(DEFAULT_AFFECT_SMOOTHING);
    expect(resolveAffectSmoothing({ auTauMs: 50 }).auTauMs).toBe(50);
  });

  it('rejects thresholds without a gap and non-positive time constants', () => {
    expect(() => resolveAffectSmoothing({ auThresholds: { on: 0.4, off: 0.4 } })).toThrow(/off < on/);
    expect(() => resolveAffectSmoothing({ auThresholdsByName: { AU12: { on: 0.3, off: 0.6 } } })).toThrow(/AU12/);
    expect(() => resolveAffectSmoothing({ expressionTauMs: 0 })).toThrow(RangeError);
    expect(() => resolveAffectSmoothing({ valenceArousal: { minCutoffHz: 0, beta: 1, derivativeCutoffHz: 1 } })).toThrow(
      RangeError,
    );
  });
});

describe('smoothAffectStep', () => {
  it('starts a face from its raw prediction (AU activation from the on threshold)', () => {
    const raw = prediction(0.2, -0.4, happy, { AU6: 0.45, AU12: 0.8 });
    expect(smooth([[raw, 1000]])[0]).toEqual({
      valence: 0.2,
      arousal: -0.4,
      expression: { label: 'happy', probs: happy },
      aus: { AU6: { p: 0.45, active: false }, AU12: { p: 0.8, active: true } },
    });
  });

  it('filters valence and arousal with One-Euro at the configured parameters', () => {
    const out = smooth([
      [prediction(0, 0.5, neutral), 0],
      [prediction(1, 0.5, neutral), 100],
    ]);
    const expected = oneEuroStep(oneEuroStep(undefined, 0, 0, options.valenceArousal), 1, 100, options.valenceArousal);
    expect(out[1]!.valence).toBe(expected.x);
    expect(out[1]!.valence).toBeGreaterThan(0);
    expect(out[1]!.valence).toBeLessThan(1);
    expect(out[1]!.arousal).toBe(0.5);
  });

  it('blends expression probabilities by elapsed time, not by frame count', () => {
    // 300 ms of "happy" after "neutral", as 10 frames at 30 fps or 3 at 10 fps: one time constant.
    const o = resolveAffectSmoothing({ expressionTauMs: 300 });
    const at = (fps: number) =>
      smooth([
        [prediction(0, 0, neutral), 0],
        ...Array.from({ length: (300 * fps) / 1000 }, (_, i): [AffectPrediction, number] => [
          prediction(0, 0, happy),
          ((i + 1) * 1000) / fps,
        ]),
      ], o).at(-1)!.expression.probs;
    const fast = at(30);
    const slow = at(10);
    expect(fast.happy).toBeCloseTo(slow.happy!, 12);
    // After one time constant the blend is 1 - 1/e of the way from 0.1 to 0.9.
    expect(fast.happy).toBeCloseTo(0.1 + 0.8 * (1 - Math.exp(-1)), 12);
  });

  it('with a switch margin, keeps the shown expression until another beats it by the margin', () => {
    const o = resolveAffectSmoothing({ expressionTauMs: 1, expressionSwitchMargin: 0.2 });
    const close = (n: number, h: number) => prediction(0, 0, { neutral: n, happy: h });
    // tau 1 ms at 66 ms frames: the probabilities pass through, the margin alone decides.
    const labels = smooth(
      [close(0.55, 0.45), close(0.45, 0.55), close(0.42, 0.58), close(0.39, 0.61), close(0.55, 0.45)].map(
        (p, i): [AffectPrediction, number] => [p, i * 66],
      ),
      o,
    ).map((x) => x.expression.label);
    // happy leads by 0.1, 0.16 (held), then 0.22 (switch); neutral leads by 0.1 (held).
    expect(labels).toEqual(['neutral', 'neutral', 'neutral', 'happy', 'happy']);
    expect(() => resolveAffectSmoothing({ expressionSwitchMargin: 1 })).toThrow(/expressionSwitchMargin/);
  });

  it('keeps probabilities summing to 1 and labels the most probable', () => {
    const next = random(11);
    const labels = ['neutral', 'happy', 'sad', 'surprise', 'fear', 'disgust', 'anger'];
    const samples = Array.from({ length: 200 }, (_, i): [AffectPrediction, number] => {
      const w = labels.map(() => next() ** 3);
      const total = w.reduce((a, b) => a + b, 0);
      return [prediction(0, 0, Object.fromEntries(labels.map((l, j) => [l, w[j]! / total]))), i * (20 + next() * 150)];
    });
    for (const { expression } of smooth(samples)) {
      const values = Object.values(expression.probs);
      expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(expression.probs[expression.label]).toBe(Math.max(...values));
    }
  });

  it('smooths AU probabilities before hysteresis, so a one-frame spike does not activate', () => {
    const frames = [0.1, 0.9, 0.1, 0.1].map((p, i): [AffectPrediction, number] => [
      prediction(0, 0, neutral, { AU12: p }),
      i * 66,
    ]);
    const aus = smooth(frames, resolveAffectSmoothing({ auTauMs: 200 })).map((o) => o.aus.AU12!);
    expect(aus.map((a) => a.active)).toEqual([false, false, false, false]);
    // 0.1 + (1 - exp(-66 / 200)) * 0.8.
    expect(aus[1]!.p).toBeCloseTo(0.1 + (1 - Math.exp(-0.33)) * 0.8, 12);
  });

  it('holds an AU active through a dip above off, per-AU thresholds overriding the default', () => {
    const o = resolveAffectSmoothing({ auTauMs: 1, auThresholdsByName: { AU4: { on: 0.7, off: 0.6 } } });
    // With tau 1 ms and 66 ms frames the EMA is transparent, leaving the hysteresis to see.
    const ps = [0.75, 0.65, 0.55, 0.65];
    const out = smooth(
      ps.map((p, i): [AffectPrediction, number] => [prediction(0, 0, neutral, { AU4: p, AU12: p }), i * 66]),
      o,
    );
    expect(out.map((x) => x.aus.AU4!.active)).toEqual([true, true, false, false]);
    expect(out.map((x) => x.aus.AU12!.active)).toEqual([true, true, true, true]);
  });

  it('ignores a prediction older than the last one', () => {
    const out = smooth([
      [prediction(0.5, 0.5, neutral, { AU1: 0.2 }), 1000],
      [prediction(-0.9, -0.9, happy, { AU1: 0.9 }), 900],
      [prediction(0.5, 0.5, neutral, { AU1: 0.2 }), 1066],
    ]);
    expect(out[1]).toEqual(out[0]);
    // Had the old sample counted, the third output would still show it.
    expect(out[2]).toEqual(out[0]);
  });
});
