import type { AffectPrediction } from '../../server/src/vision/types.ts';

/** A raw model output; `active` flags are the model's own and smoothing replaces them. */
export function prediction(
  valence: number,
  arousal: number,
  probs: Record<string, number>,
  auProbs: Record<string, number> = {},
): AffectPrediction {
  const label = Object.entries(probs).reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const aus = Object.fromEntries(Object.entries(auProbs).map(([name, p]) => [name, { p, active: p >= 0.5 }]));
  return { valence, arousal, expression: { label, probs }, aus };
}
