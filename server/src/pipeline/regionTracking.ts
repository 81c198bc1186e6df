import type { Box, FaceDetection } from '../vision/types.ts';
import { boxIoU } from '../vision/boxIoU.ts';

/**
 * Region-of-interest tracking, as MediaPipe's face pipelines do it: a face found in one frame is looked for in the
 * next only in a square around where it was, by a cheap detector on that crop; the whole frame is searched on a
 * schedule (so a face that walks in is found within `fullIntervalMs`) and whenever a known face is not found
 * again with confidence (it left, turned away, was covered, or the scene cut).
 */
export interface RegionTrackingOptions {
  /**
   * The whole frame is searched when this much frame time has passed since it last was. Default 400: a new face
   * is found within 400 ms, 4 frames at 10 fps (every 4th frame: full; the others: regions).
   */
  fullIntervalMs: number;
  /** Side of the square searched around a face, in face sizes (the larger box side). Default 2. */
  regionScale: number;
  /**
   * A face found again in its region scoring below this counts as lost: the whole frame is searched at once.
   * Default 0.5, the detector's own threshold (BlazeFace scores a steady frontal face 0.85-0.97).
   */
  minRegionScore: number;
  /**
   * With more known faces than this the whole frame is searched instead: one region costs about a fifth of a
   * full-frame search (front128 vs back256), so beyond 4 regions a full search is cheaper. Default 4.
   */
  maxRegions: number;
}

export const DEFAULT_REGION_TRACKING: Readonly<RegionTrackingOptions> = Object.freeze({
  fullIntervalMs: 400,
  regionScale: 2,
  minRegionScore: 0.5,
  maxRegions: 4,
});

/** What region tracking remembers of a stream: the faces of its last frame and when the whole frame was last searched. */
export interface RegionState {
  faces: readonly FaceDetection[];
  /** Frame time of the last full-frame search; undefined before the first. */
  lastFullMs: number | undefined;
}

export const NO_REGIONS: RegionState = Object.freeze({ faces: [], lastFullMs: undefined });

/** How to look at the next frame: the whole of it, or only these squares (none: nothing known, nothing to do). */
export type DetectionPlan = { kind: 'full' } | { kind: 'regions'; regions: Box[] };

/** The square of side `scale` face sizes centred on a face's box. */
export function regionAround(box: Box, scale: number): Box {
  const side = scale * Math.max(box.width, box.height);
  return { x: box.x + box.width / 2 - side / 2, y: box.y + box.height / 2 - side / 2, width: side, height: side };
}

export function planDetection(state: RegionState, timeMs: number, o: RegionTrackingOptions): DetectionPlan {
  const due = state.lastFullMs === undefined || timeMs - state.lastFullMs >= o.fullIntervalMs || timeMs < state.lastFullMs;
  if (due || state.faces.length > o.maxRegions) return { kind: 'full' };
  return { kind: 'regions', regions: state.faces.map((f) => regionAround(f.box, o.regionScale)) };
}

/**
 * The faces found in the regions, if every known face was found again confidently and no two regions found the
 * same face (two faces close together: the nearer one was taken twice); undefined otherwise, and the whole frame
 * must be searched.
 */
export function foundAgain(found: readonly (FaceDetection | null)[], o: RegionTrackingOptions): FaceDetection[] | undefined {
  const faces: FaceDetection[] = [];
  for (const f of found) {
    if (!f || f.score < o.minRegionScore) return undefined;
    if (faces.some((other) => boxIoU(other.box, f.box) > 0.5)) return undefined;
    faces.push(f);
  }
  return faces;
}

/** The state after a frame's faces were found, by a full-frame search or in their regions. */
export function afterDetection(state: RegionState, faces: readonly FaceDetection[], full: boolean, timeMs: number): RegionState {
  return { faces, lastFullMs: full ? timeMs : state.lastFullMs };
}
