import type { AffectModelInfo } from './affectContract.ts';
import type { AffectPrediction } from './types.ts';

/**
 * Raw contract outputs for N faces to predictions: valence/arousal as given (the model bounds them to [-1, 1]),
 * expression probabilities by softmax over the logits with the most probable label, AU probabilities by sigmoid
 * (AUs co-occur, so each is its own yes/no) and active where p reaches the AU's threshold from the metadata.
 */
export function decodeAffect(
  info: Pick<AffectModelInfo, 'expressionLabels' | 'auLabels' | 'auThresholds'>,
  count: number,
  va: Float32Array,
  expr: Float32Array,
  au: Float32Array,
): AffectPrediction[] {
  const { expressionLabels, auLabels, auThresholds } = info;
  const classes = expressionLabels.length;
  const k = auLabels.length;
  const out: AffectPrediction[] = [];
  for (let n = 0; n < count; n++) {
    const o = n * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, expr[o + c]!);
    // Subtracting the max keeps exp() finite for large logits without changing the result.
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(expr[o + c]! - max);
    const probs: Record<string, number> = {};
    let best = 0;
    for (let c = 0; c < classes; c++) {
      probs[expressionLabels[c]!] = Math.exp(expr[o + c]! - max) / sum;
      if (expr[o + c]! > expr[o + best]!) best = c;
    }
    const aus: AffectPrediction['aus'] = {};
    for (let j = 0; j < k; j++) {
      const p = 1 / (1 + Math.exp(-au[n * k + j]!));
      aus[auLabels[j]!] = { p, active: p >= auThresholds[j]! };
    }
    out.push({
      valence: va[n * 2]!,
      arousal: va[n * 2 + 1]!,
      expression: { label: expressionLabels[best]!, probs },
      aus,
    });
  }
  return out;
}
