import { boxIoU } from './boxIoU.ts';
import type { FaceDetection } from './types.ts';

/**
 * MediaPipe's weighted non-maximum suppression: take the best remaining candidate, gather every remaining
 * candidate overlapping it by more than `iouThreshold` (itself included), and output the score-weighted mean of
 * their boxes and keypoints with the best one's score. Averaging the neighbouring anchors' votes steadies
 * boxes and eyes from frame to frame, which plain NMS (keep the best, drop the rest) does not.
 */
export function weightedNms(candidates: readonly FaceDetection[], iouThreshold: number): FaceDetection[] {
  let remaining = [...candidates].sort((p, q) => q.score - p.score);
  const out: FaceDetection[] = [];
  while (remaining.length > 0) {
    const best = remaining[0]!;
    const cluster: FaceDetection[] = [];
    const rest: FaceDetection[] = [];
    // `c === best` keeps a degenerate (zero-area) best box in its own cluster, so the loop always advances.
    for (const c of remaining) (boxIoU(best.box, c.box) > iouThreshold || c === best ? cluster : rest).push(c);
    let total = 0;
    let x0 = 0;
    let y0 = 0;
    let x1 = 0;
    let y1 = 0;
    const keypoints = best.keypoints.map(() => ({ x: 0, y: 0 }));
    for (const c of cluster) {
      total += c.score;
      x0 += c.score * c.box.x;
      y0 += c.score * c.box.y;
      x1 += c.score * (c.box.x + c.box.width);
      y1 += c.score * (c.box.y + c.box.height);
      c.keypoints.forEach((p, k) => {
        keypoints[k]!.x += c.score * p.x;
        keypoints[k]!.y += c.score * p.y;
      });
    }
    for (const p of keypoints) {
      p.x /= total;
      p.y /= total;
    }
    out.push({
      box: { x: x0 / total, y: y0 / total, width: (x1 - x0) / total, height: (y1 - y0) / total },
      keypoints,
      score: best.score,
    });
    remaining = rest;
  }
  return out;
}
