import { defer, map, type OperatorFunction } from 'rxjs';
import { FaceTracker, type FaceTrackerOptions, type Placed, type Tracked } from './FaceTracker.ts';

/** One frame's faces of one stream (detections, or detections paired with their affect) at the frame's time (its arrival at the server). */
export interface FacesAt<F extends Placed = Placed> {
  timeMs: number;
  faces: readonly F[];
}

/** The value with its faces replaced by the confirmed tracks matched in this frame, ids added, and the ids whose track ended. */
export type WithTracks<T extends FacesAt> = Omit<T, 'faces'> & { faces: Tracked<T['faces'][number]>[]; ended: number[] };

/**
 * Gives each frame's faces stable ids: `faces` becomes the confirmed tracks matched in this frame (each face
 * keeps its fields, plus `id`; unconfirmed ones are left out) and `ended` lists ids whose track ended at this
 * frame; every other field of the value is kept. Each subscription tracks on its own, so use one per stream.
 */
export function trackFaces<T extends FacesAt>(options?: FaceTrackerOptions): OperatorFunction<T, WithTracks<T>> {
  return (source) =>
    defer(() => {
      const tracker = new FaceTracker<T['faces'][number]>(options);
      return source.pipe(map((value) => ({ ...value, ...tracker.update(value.faces, value.timeMs) })));
    });
}
