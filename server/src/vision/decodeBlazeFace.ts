import { ANCHOR_COUNT } from './anchors.ts';
import type { FaceDetection } from './types.ts';

const REGRESSOR_LENGTH = 16;
const KEYPOINTS = 6;
/** MediaPipe clamps logits before the sigmoid so a wild regressor cannot give Infinity/NaN. */
const LOGIT_CLIP = 100;

/**
 * Raw BlazeFace outputs to candidate faces, in fractions of the input square (before NMS).
 * The model splits its 896 anchors over two heads; `scores` and `regressors` list the heads in anchor order
 * (512 then 384), so no concatenated copy is made.
 */
export function decodeBlazeFace(
  scores: readonly Float32Array[],
  regressors: readonly Float32Array[],
  anchors: Float32Array,
  inputSize: number,
  minScore: number,
): FaceDetection[] {
  const out: FaceDetection[] = [];
  // Testing the logit instead of the sigmoid skips exp() for the ~890 anchors that hold no face.
  const minLogit = Math.log(minScore / (1 - minScore));
  let anchor = 0;
  for (let head = 0; head < scores.length; head++) {
    const s = scores[head]!;
    const r = regressors[head]!;
    for (let i = 0; i < s.length; i++, anchor++) {
      const logit = Math.min(LOGIT_CLIP, Math.max(-LOGIT_CLIP, s[i]!));
      if (logit < minLogit) continue;
      const ax = anchors[anchor * 2]!;
      const ay = anchors[anchor * 2 + 1]!;
      const o = i * REGRESSOR_LENGTH;
      const cx = ax + r[o]! / inputSize;
      const cy = ay + r[o + 1]! / inputSize;
      const w = r[o + 2]! / inputSize;
      const h = r[o + 3]! / inputSize;
      const keypoints = [];
      for (let k = 0; k < KEYPOINTS; k++) {
        keypoints.push({ x: ax + r[o + 4 + 2 * k]! / inputSize, y: ay + r[o + 5 + 2 * k]! / inputSize });
      }
      out.push({
        box: { x: cx - w / 2, y: cy - h / 2, width: w, height: h },
        keypoints,
        score: 1 / (1 + Math.exp(-logit)),
      });
    }
  }
  if (anchor !== ANCHOR_COUNT) {
    throw new Error(`BlazeFace outputs cover ${anchor} anchors, expected ${ANCHOR_COUNT}`);
  }
  return out;
}
