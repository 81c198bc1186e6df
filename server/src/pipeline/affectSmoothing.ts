import type { ActionUnitPrediction, AffectPrediction } from '../vision/types.ts';
import { type OneEuroParams, type OneEuroState, oneEuroStep } from './oneEuro.ts';

export interface HysteresisThresholds {
  /** An inactive AU turns active when its smoothed probability reaches this. */
  on: number;
  /** An active AU turns inactive when its smoothed probability falls to this; below `on`. */
  off: number;
}

export interface AffectSmoothingOptions {
  /**
   * One-Euro parameters for valence and arousal (each in [-1, 1]). Default 0.5 Hz / beta 0.5 /
   * 1 Hz: at 15 fps this cuts white model noise to under 0.4 of its spread, yet a real jump of 0.8
   * is 90% through in about 0.2 s, since speed lifts the cutoff (1 unit/s: to 1 Hz).
   */
  valenceArousal: OneEuroParams;
  /**
   * Time constant of the expression-probability EMA, ms. Default 150 (measured with bench:smoothing):
   * label flips on the face video fall from 1.8 to 0.8 per second at about 80 ms of lag.
   */
  expressionTauMs: number;
  /**
   * The shown expression changes only when another class's smoothed probability beats the shown one's by
   * this much (0: plain argmax), so two close classes do not take turns frame by frame.
   */
  expressionSwitchMargin: number;
  /** Time constant of the AU-probability EMA, ms. Default 100: AUs are brief; the hysteresis does the rest. */
  auTauMs: number;
  /**
   * Activation thresholds on the smoothed AU probability. Default on 0.5, off 0.35: the gap stops
   * an AU hovering near 0.5 from blinking on and off.
   */
  auThresholds: HysteresisThresholds;
  /** Per-AU thresholds overriding `auThresholds`, e.g. from the model's calibrated thresholds. */
  auThresholdsByName: Record<string, HysteresisThresholds>;
}

export const DEFAULT_AFFECT_SMOOTHING: Readonly<AffectSmoothingOptions> = Object.freeze({
  valenceArousal: { minCutoffHz: 0.5, beta: 0.5, derivativeCutoffHz: 1 },
  expressionTauMs: 150,
  expressionSwitchMargin: 0,
  auTauMs: 100,
  auThresholds: { on: 0.5, off: 0.35 },
  auThresholdsByName: {},
});

/** How far below its activation threshold an AU must fall to turn off again. */
export const AU_RELEASE_GAP = 0.15;

/** Per-AU hysteresis from a model's calibrated activation thresholds (its metadata), by AU name. */
export function auThresholdsFromModel(
  labels: readonly string[],
  onThresholds: readonly number[],
  releaseGap = AU_RELEASE_GAP,
): Record<string, HysteresisThresholds> {
  return Object.fromEntries(labels.map((label, i) => [label, { on: onThresholds[i]!, off: Math.max(0, onThresholds[i]! - releaseGap) }]));
}

/** Fills in defaults (per top-level field) and rejects settings that cannot work. */
export function resolveAffectSmoothing(options: Partial<AffectSmoothingOptions> = {}): AffectSmoothingOptions {
  const o = { ...DEFAULT_AFFECT_SMOOTHING, ...options };
  const { minCutoffHz, beta, derivativeCutoffHz } = o.valenceArousal;
  if (!(minCutoffHz > 0 && derivativeCutoffHz > 0 && beta >= 0)) {
    throw new RangeError('valenceArousal: cutoffs must be > 0 and beta >= 0');
  }
  if (!(o.expressionTauMs > 0 && o.auTauMs > 0)) throw new RangeError('expressionTauMs and auTauMs must be > 0');
  if (!(o.expressionSwitchMargin >= 0 && o.expressionSwitchMargin < 1)) throw new RangeError('expressionSwitchMargin must be in [0, 1)');
  for (const [name, t] of Object.entries({ default: o.auThresholds, ...o.auThresholdsByName })) {
    if (!(t.off >= 0 && t.off < t.on && t.on <= 1)) {
      throw new RangeError(`AU thresholds (${name}): need 0 <= off < on <= 1, got on ${t.on}, off ${t.off}`);
    }
  }
  return o;
}

/**
 * Weight of a new sample in an exponential moving average with time constant `tauMs`, after
 * `dtMs`: `1 - exp(-dt / tau)`. Several short steps then weigh the past exactly as one long step
 * of the same total time, so smoothing does not depend on the frame rate.
 */
export function emaAlpha(dtMs: number, tauMs: number): number {
  return dtMs > 0 ? 1 - Math.exp(-dtMs / tauMs) : 0;
}

/** Next on/off state: turns on at `p >= on`, stays on while `p > off`. */
export function hysteresis(wasActive: boolean, p: number, t: HysteresisThresholds): boolean {
  return wasActive ? p > t.off : p >= t.on;
}

/** Smoothing memory of one face. */
export interface AffectSmoothingState {
  timeMs: number;
  valence: OneEuroState;
  arousal: OneEuroState;
  probs: Record<string, number>;
  label: string;
  aus: Record<string, ActionUnitPrediction>;
}

/** The most probable class, unless the one shown so far is within `margin` of it. */
function shownLabel(probs: Record<string, number>, shown: string | undefined, margin: number): string {
  const best = argmax(probs);
  if (shown === undefined || !(shown in probs)) return best;
  return probs[best]! - probs[shown]! > margin ? best : shown;
}

function argmax(probs: Record<string, number>): string {
  let best = '';
  let bestP = Number.NEGATIVE_INFINITY;
  for (const [label, p] of Object.entries(probs)) {
    if (p > bestP) [best, bestP] = [label, p];
  }
  return best;
}

/**
 * One causal smoothing step for one face: One-Euro on valence and arousal, EMA on expression
 * probabilities (a convex blend of two distributions, so they still sum to 1) with the label their
 * argmax unless the shown one is within the switch margin, EMA then hysteresis on AUs (the model's
 * own `active` flags are replaced). Labels present only in the new prediction start from their raw
 * value. Returns the new state and the smoothed prediction; `prev` undefined starts a face from its
 * raw prediction.
 */
export function smoothAffectStep(
  prev: AffectSmoothingState | undefined,
  raw: AffectPrediction,
  timeMs: number,
  o: AffectSmoothingOptions,
): { state: AffectSmoothingState; prediction: AffectPrediction } {
  const dtMs = prev ? timeMs - prev.timeMs : 0;
  const exprAlpha = emaAlpha(dtMs, o.expressionTauMs);
  const auAlpha = emaAlpha(dtMs, o.auTauMs);

  const probs: Record<string, number> = {};
  for (const [label, p] of Object.entries(raw.expression.probs)) {
    const was = prev?.probs[label] ?? p;
    probs[label] = was + exprAlpha * (p - was);
  }

  const aus: Record<string, ActionUnitPrediction> = {};
  for (const [name, { p }] of Object.entries(raw.aus)) {
    const was = prev?.aus[name];
    const smoothed = was ? was.p + auAlpha * (p - was.p) : p;
    const thresholds = o.auThresholdsByName[name] ?? o.auThresholds;
    aus[name] = { p: smoothed, active: hysteresis(was?.active ?? false, smoothed, thresholds) };
  }

  const valence = oneEuroStep(prev?.valence, raw.valence, timeMs, o.valenceArousal);
  const arousal = oneEuroStep(prev?.arousal, raw.arousal, timeMs, o.valenceArousal);
  // An out-of-order sample changes nothing, so the clock must not move back either.
  const label = shownLabel(probs, prev?.label, o.expressionSwitchMargin);
  const state = { timeMs: Math.max(timeMs, prev?.timeMs ?? timeMs), valence, arousal, probs, label, aus };
  return {
    state,
    prediction: {
      valence: valence.x,
      arousal: arousal.x,
      expression: { label, probs },
      aus,
    },
  };
}
