import { defer, map, type OperatorFunction } from 'rxjs';
import type { FaceDetection } from '../vision/types.ts';
import { FaceTracker, type FaceTrackerOptions, type TrackerUpdate } from './FaceTracker.ts';

/** The detector's output for one frame of one stream, at the frame's time (its arrival at the server). */
export interface DetectionsAt {
  timeMs: number;
  detections: readonly FaceDetection[];
}

/**
 * Adds stable face ids to each frame's detections: `faces` (confirmed tracks matched in this frame)
 * and `ended` (ids whose track ended at this frame), keeping every other field of the value.
 * Each subscription tracks on its own, so use one per stream.
 */
export function trackFaces<T extends DetectionsAt>(
  options?: FaceTrackerOptions,
): OperatorFunction<T, T & TrackerUpdate> {
  return (source) =>
    defer(() => {
      const tracker = new FaceTracker(options);
      return source.pipe(map((value) => ({ ...value, ...tracker.update(value.detections, value.timeMs) })));
    });
}
