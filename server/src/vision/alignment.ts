import type { Affine } from './sampleAffine.ts';
import type { Point } from './types.ts';

/**
 * How a face crop is cut, as an affect model was trained with it (the model's `affect.crop` metadata).
 * `eyes-mouth-v1`, specified in docs/alignment.md:
 *   roll  = angle of the line from the subject's right eye to the left eye (image x axis = 0)
 *   centre = eye midpoint + shift * (mouth - eye midpoint)
 *   side  = scale * max(eye distance, eye-midpoint-to-mouth distance)
 * The max of two distances keeps the crop size steady when the head turns (eye distance shrinks with yaw,
 * eye-mouth distance with pitch), and every term turns with the face, so the crop is roll-invariant.
 */
export interface CropSpec {
  method: 'eyes-mouth-v1';
  scale: number;
  shift: number;
}

/** BlazeFace keypoint indices the crop uses. */
const RIGHT_EYE = 0;
const LEFT_EYE = 1;
const MOUTH = 3;

export interface AlignedSquare {
  centre: Point;
  /** Side of the crop square in frame pixels. */
  side: number;
  /** Roll in radians; the crop is rotated by it so the eyes come out level. */
  roll: number;
}

export function alignedSquare(keypoints: readonly Point[], spec: CropSpec): AlignedSquare {
  const re = keypoints[RIGHT_EYE];
  const le = keypoints[LEFT_EYE];
  const mouth = keypoints[MOUTH];
  if (!re || !le || !mouth) throw new Error('alignment needs BlazeFace keypoints 0 (right eye), 1 (left eye), 3 (mouth)');
  const mx = (re.x + le.x) / 2;
  const my = (re.y + le.y) / 2;
  const eyes = Math.hypot(le.x - re.x, le.y - re.y);
  const eyeMouth = Math.hypot(mouth.x - mx, mouth.y - my);
  return {
    centre: { x: mx + spec.shift * (mouth.x - mx), y: my + spec.shift * (mouth.y - my) },
    side: spec.scale * Math.max(eyes, eyeMouth),
    roll: Math.atan2(le.y - re.y, le.x - re.x),
  };
}

/** Crop pixel -> frame pixel for a size x size crop of the square (the sampler's map). */
export function cropToFrame(sq: AlignedSquare, size: number): Affine {
  const k = sq.side / size;
  const cos = Math.cos(sq.roll) * k;
  const sin = Math.sin(sq.roll) * k;
  const half = size / 2;
  return {
    a: cos,
    b: -sin,
    c: sin,
    d: cos,
    tx: sq.centre.x - cos * half + sin * half,
    ty: sq.centre.y - sin * half - cos * half,
  };
}
