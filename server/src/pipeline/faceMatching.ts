import { boxIoU } from '../vision/boxIoU.ts';
import type { Box, Point } from '../vision/types.ts';

/** Where a face is (or is predicted to be): the parts of a detection that matching compares. */
export interface FacePlace {
  box: Box;
  keypoints: readonly Point[];
}

const centre = (b: Box): Point => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });

/**
 * Mean distance between corresponding keypoints, in units of the face size of `a`
 * (sqrt of its box area) so the same threshold fits near and far faces. Falls back to the box
 * centres when the two keypoint lists do not correspond.
 */
export function keypointDistance(a: FacePlace, b: FacePlace): number {
  const size = Math.sqrt(a.box.width * a.box.height);
  const paired = a.keypoints.length > 0 && a.keypoints.length === b.keypoints.length;
  const pa = paired ? a.keypoints : [centre(a.box)];
  const pb = paired ? b.keypoints : [centre(b.box)];
  let sum = 0;
  pa.forEach((p, i) => {
    sum += Math.hypot(p.x - pb[i]!.x, p.y - pb[i]!.y);
  });
  return sum / pa.length / size;
}

/**
 * Cost of explaining detection `b` as the face at `a`: `(1 - IoU) + keypointDistance`, 0 for a
 * perfect match. IoU alone cannot tell apart two overlapping faces; keypoints place eyes and mouth,
 * and still give a gradient once boxes stop overlapping.
 */
export function faceMatchCost(a: FacePlace, b: FacePlace): number {
  return 1 - boxIoU(a.box, b.box) + keypointDistance(a, b);
}
