import {
  EMPTY,
  asyncScheduler,
  catchError,
  concatMap,
  defer,
  from,
  map,
  of,
  switchMap,
  type MonoTypeOperatorFunction,
  type Observable,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import type { Frame } from '../media/Frame.ts';
import { noTimings, type DetectTimings } from '../vision/FaceDetectorTypes.ts';
import type { Box, FaceDetection } from '../vision/types.ts';
import type { FairTurns } from './fairTurns.ts';
import { concatEager } from './concatEager.ts';
import { processLatest } from './processLatest.ts';
import {
  afterDetection,
  foundAgain,
  NO_REGIONS,
  planDetection,
  type RegionState,
  type RegionTrackingOptions,
  type Search,
} from './regionTracking.ts';
import { sceneSignature, type SceneSignature } from './sceneChange.ts';

/** What detection needs of a detector (FaceDetector has it); Observables let marble tests time it. */
export interface Detector {
  detect(image: Frame, timings?: DetectTimings): ObservableInput<FaceDetection[]>;
  detectRegions(image: Frame, regions: readonly Box[], timings?: DetectTimings): ObservableInput<(FaceDetection | null)[]>;
}

/**
 * How a frame's faces were found: `full` (the whole frame searched), `regions` (every known face found again
 * around where it was), `regions+full` (a known face was not: the whole frame searched after the regions), `held`
 * (nothing changed over the known faces: they are where they were, no search), `none` (no face known and no full
 * search due: nothing to look for).
 */
export type DetectionMode = 'full' | 'regions' | 'regions+full' | 'held' | 'none';

const SEARCHED: Record<DetectionMode, Search> = { full: 'whole', 'regions+full': 'whole', regions: 'regions', held: 'none', none: 'none' };

/** Whether a frame found this way ran the detector at all (`held` and `none` did not). */
export const ranDetector = (mode: DetectionMode): boolean => SEARCHED[mode] !== 'none';

export interface DetectedFrame {
  frame: Frame;
  detections: FaceDetection[];
  mode: DetectionMode;
  /** Scheduler clock (epoch ms) when detection started and ended. */
  detectStart: number;
  detectEnd: number;
  /** Time the detector itself reports (in a vision worker: its own work, not the wait for it), ms; 0 if it reports none. */
  detectorMs: number;
}

export interface DetectFacesOptions<R> {
  detector: Detector;
  /** Undefined: every frame is searched whole (no region tracking). */
  regions?: RegionTrackingOptions;
  /** The rest of a frame's analysis: part of its busy period, so frames that arrive meanwhile wait (latest wins). */
  then: (detected: DetectedFrame) => ObservableInput<R>;
  /** A frame replaced by a newer one before it could be analysed. */
  onDrop?: (frame: Frame) => void;
  /**
   * Offline (a recorded file): every frame is analysed, none dropped, and frames overlap. The source must not run
   * ahead without bound: it should offer a frame only when few are in flight (each ends in a result or `onError`).
   */
  everyFrame?: boolean;
  /** Turns at the vision workers shared with the other streams (fairTurns.ts); undefined: a frame starts when this stream is free. */
  turns?: FairTurns;
  /** A frame whose detection or `then` failed; the stream goes on with the next one. */
  onError?: (error: unknown, frame: Frame) => void;
  /** Clock of detectStart/End and of the sampler. Default `asyncScheduler` (virtual inside `TestScheduler.run`). */
  scheduler?: SchedulerLike;
}

const spent = (t: DetectTimings) => t.letterbox + t.detect + t.decode;

/**
 * Latest-wins face detection for one stream, then `then` on each frame's faces, one frame at a time. With
 * `regions`, a frame is searched whole only on the schedule or when a known face was not found again in the
 * region around where it was (see regionTracking.ts); otherwise only those regions are. The regions come from
 * the frame analysed before, so a subscription is one stream's state: use one per stream.
 */
export function detectFaces<R>(options: DetectFacesOptions<R>): OperatorFunction<Frame, R> {
  const { detector, regions: tracking, scheduler = asyncScheduler } = options;

  const full = (frame: Frame, timings: DetectTimings): Observable<FaceDetection[]> =>
    defer(() => from(detector.detect(frame, timings)));

  return (frames) =>
    defer(() => {
      let state: RegionState = NO_REGIONS;

      const detect = (frame: Frame): Observable<Omit<DetectedFrame, 'detectEnd'>> =>
        defer(() => {
          const detectStart = scheduler.now();
          const timings = noTimings();
          let signature: SceneSignature | undefined;
          const scene = () => (signature ??= sceneSignature(frame));
          let detectorMs = 0;
          const counted = <T>(work: Observable<T>) =>
            work.pipe(
              map((value) => {
                detectorMs += spent(timings);
                return value;
              }),
            );
          const done = (detections: FaceDetection[], mode: DetectionMode) => {
            state = afterDetection(state, detections, SEARCHED[mode], frame.arrivalTime, scene);
            return { frame, detections, mode, detectStart, detectorMs };
          };
          const plan = tracking ? planDetection(state, frame.arrivalTime, tracking, scene) : ({ kind: 'full' } as const);
          if (plan.kind === 'full') return counted(full(frame, timings)).pipe(map((d) => done(d, 'full')));
          if (plan.kind === 'hold') return of(done([...state.faces], 'held'));
          if (plan.regions.length === 0) return of(done([], 'none'));
          return counted(defer(() => from(detector.detectRegions(frame, plan.regions, timings)))).pipe(
            switchMap((found) => {
              const again = foundAgain(found, tracking!);
              return again ? of(done(again, 'regions')) : counted(full(frame, timings)).pipe(map((d) => done(d, 'regions+full')));
            }),
          );
        });

      const detected = (frame: Frame) => detect(frame).pipe(map((d): DetectedFrame => ({ ...d, detectEnd: scheduler.now() })));
      const survive = <T>(frame: Frame): MonoTypeOperatorFunction<T> =>
        catchError((error: unknown) => {
          options.onError?.(error, frame);
          return EMPTY;
        });
      const analyse = (frame: Frame) => detected(frame).pipe(switchMap(options.then), survive(frame));

      if (options.everyFrame) {
        // Detection stays one frame at a time (a frame's regions come from the one before); each frame's `then`
        // starts as soon as its faces are found and overlaps the next frame's detection, results in frame order.
        return frames.pipe(
          concatMap((frame) => detected(frame).pipe(map((d) => from(options.then(d)).pipe(survive(frame))), survive(frame))),
          concatEager(),
        );
      }

      // The frame tap already delivers at the analysis rate: frames are dropped here only while analysis is busy,
      // or while the stream waits for its turn.
      return frames.pipe(processLatest(analyse, { onDrop: options.onDrop, turns: options.turns, scheduler }));
    });
}
