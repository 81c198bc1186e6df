import type { FaceDetection } from '../../server/src/vision/types.ts';

/**
 * A synthetic BlazeFace-like detection of a face of `size` px centred at (cx, cy), keypoints in
 * BlazeFace order (right eye, left eye, nose, mouth, right ear, left ear).
 */
export function face(cx: number, cy: number, size = 100, score = 0.9): FaceDetection {
  const k = (dx: number, dy: number) => ({ x: cx + dx * size, y: cy + dy * size });
  return {
    box: { x: cx - size / 2, y: cy - size / 2, width: size, height: size },
    keypoints: [k(-0.2, -0.1), k(0.2, -0.1), k(0, 0.05), k(0, 0.25), k(-0.45, 0), k(0.45, 0)],
    score,
  };
}

/** Deterministic PRNG (mulberry32) in [0, 1), so jitter tests reproduce. */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
