import type { Box, FaceDetection } from '../vision/types.ts';
import { boxIoU } from '../vision/boxIoU.ts';
import { changedOutside, stillWithin, type SceneSignature } from './sceneChange.ts';

/**
 * Region-of-interest tracking, as MediaPipe's face pipelines do it: a face found in one frame is looked for in the
 * next only in a square around where it was, by a cheap detector on that crop; the whole frame is searched on a
 * schedule (so a face that walks in is found within `fullIntervalMs`) and whenever a known face is not found
 * again with confidence (it left, turned away, was covered, or the scene cut). A scheduled search is skipped while
 * the picture has not changed outside the known faces since the last one (sceneChange.ts): no face can have come in
 * where nothing changed. And while nothing changed over the known faces themselves since they were last searched for,
 * they are held where they were, for a frame or two, without a search at all.
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
  /**
   * While nothing changed outside the known faces since the last full-frame search, the scheduled one is skipped,
   * for up to this long after it (a safety net for a face the detector missed while it sat still); 0: the whole
   * frame is searched on schedule whatever the picture does. Default 2000.
   */
  stillIntervalMs: number;
  /**
   * Frames in a row for which known faces are held where they were (their detections reused: the model still
   * judges each frame) while nothing changed over them since they were last found; 0: searched every frame. Default 2.
   */
  maxHeld: number;
}

export const DEFAULT_REGION_TRACKING: Readonly<RegionTrackingOptions> = Object.freeze({
  fullIntervalMs: 400,
  regionScale: 2,
  minRegionScore: 0.5,
  maxRegions: 4,
  stillIntervalMs: 2000,
  maxHeld: 2,
});

/** What region tracking remembers of a stream: the faces of its last frame, and when and what the whole frame was last searched. */
export interface RegionState {
  faces: readonly FaceDetection[];
  /** Frame time of the last full-frame search; undefined before the first. */
  lastFullMs: number | undefined;
  /** The frame of that search, in brief: what a scheduled search compares against. */
  lastFullScene: SceneSignature | undefined;
  /** The frame the faces were last searched for (whole or in regions), in brief: what holding them compares against. */
  lastSearchScene: SceneSignature | undefined;
  /** Frames in a row the faces have been held since. */
  held: number;
}

export const NO_REGIONS: RegionState = Object.freeze({
  faces: [],
  lastFullMs: undefined,
  lastFullScene: undefined,
  lastSearchScene: undefined,
  held: 0,
});

/**
 * How to look at the next frame: the whole of it, only these squares (none: nothing known, nothing to do), or not at
 * all (`hold`: the known faces are where they were).
 */
export type DetectionPlan = { kind: 'full' } | { kind: 'regions'; regions: Box[] } | { kind: 'hold' };

/** How a frame's faces were had: a whole-frame search, a search of their regions, or neither (held, or none known). */
export type Search = 'whole' | 'regions' | 'none';

/** A face's own square (1.2 face sizes, for a box a little off): where a change means it moved. */
const HELD_SCALE = 1.2;

/** The square of side `scale` face sizes centred on a face's box. */
export function regionAround(box: Box, scale: number): Box {
  const side = scale * Math.max(box.width, box.height);
  return { x: box.x + box.width / 2 - side / 2, y: box.y + box.height / 2 - side / 2, width: side, height: side };
}

/** `scene`: the frame to plan for, in brief; called only when a scheduled search might be skipped. */
export function planDetection(state: RegionState, timeMs: number, o: RegionTrackingOptions, scene: () => SceneSignature): DetectionPlan {
  const { lastFullMs, lastFullScene } = state;
  if (lastFullMs === undefined || lastFullScene === undefined || timeMs < lastFullMs || state.faces.length > o.maxRegions) return { kind: 'full' };
  const regions = state.faces.map((f) => regionAround(f.box, o.regionScale));
  const due = timeMs - lastFullMs >= o.fullIntervalMs;
  const still = timeMs - lastFullMs < o.stillIntervalMs && !changedOutside(lastFullScene, scene(), regions);
  if (due && !still) return { kind: 'full' };
  const hold =
    state.faces.length > 0 &&
    state.held < o.maxHeld &&
    state.lastSearchScene !== undefined &&
    stillWithin(state.lastSearchScene, scene(), state.faces.map((f) => regionAround(f.box, HELD_SCALE)));
  return hold ? { kind: 'hold' } : { kind: 'regions', regions };
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

/** The state after a frame's faces were had (`search`: how). */
export function afterDetection(
  state: RegionState,
  faces: readonly FaceDetection[],
  search: Search,
  timeMs: number,
  scene: () => SceneSignature,
): RegionState {
  if (search === 'whole') return { faces, lastFullMs: timeMs, lastFullScene: scene(), lastSearchScene: scene(), held: 0 };
  if (search === 'regions') return { ...state, faces, lastSearchScene: scene(), held: 0 };
  return { ...state, faces, held: state.held + 1 };
}
