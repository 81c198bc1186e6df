import { defer, map, type MonoTypeOperatorFunction } from 'rxjs';
import type { AffectPrediction } from '../vision/types.ts';
import {
  type AffectSmoothingOptions,
  type AffectSmoothingState,
  resolveAffectSmoothing,
  smoothAffectStep,
} from './affectSmoothing.ts';

/** One tracked face's raw model output. */
export interface AffectFace {
  id: number;
  prediction: AffectPrediction;
}

/** One frame of one stream after tracking and inference. */
export interface AffectFrame {
  /** The frame's time (its arrival at the server), ms: the filters' clock, so processing delays do not bend it. */
  timeMs: number;
  faces: readonly AffectFace[];
  /** Track ids that ended at this frame: their smoothing state is freed. */
  ended: readonly number[];
}

export interface SmoothAffectOptions extends Partial<AffectSmoothingOptions> {
  /**
   * Frees the state of a face not seen for this long (ms of frame time) even if no `ended` named
   * it, so a lost end notice cannot grow the state without bound. Default 5000, well past the
   * tracker's default 1000 ms track timeout.
   */
  maxIdleMs?: number;
}

/**
 * Causal smoothing of each face's affect, keyed by track id (see `smoothAffectStep` for the
 * filters). Replaces each face's `prediction` with the smoothed one and keeps every other field.
 * A face's state starts at its first prediction and is freed when its id appears in `ended`, so an
 * id is never smoothed against another face's past. State lives per subscription: one per stream.
 */
export function smoothAffect<T extends AffectFrame>(options: SmoothAffectOptions = {}): MonoTypeOperatorFunction<T> {
  const { maxIdleMs = 5000, ...smoothing } = options;
  const resolved = resolveAffectSmoothing(smoothing);
  return (source) =>
    defer(() => {
      const states = new Map<number, AffectSmoothingState>();
      return source.pipe(
        map((frame) => {
          for (const [id, state] of states) {
            if (frame.timeMs - state.timeMs > maxIdleMs) states.delete(id);
          }
          const faces = frame.faces.map((face) => {
            const { state, prediction } = smoothAffectStep(states.get(face.id), face.prediction, frame.timeMs, resolved);
            states.set(face.id, state);
            return { ...face, prediction };
          });
          for (const id of frame.ended) states.delete(id);
          return { ...frame, faces };
        }),
      );
    });
}
