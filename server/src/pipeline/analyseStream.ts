import { asyncScheduler, forkJoin, map, of, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Frame } from '../media/Frame.ts';
import type { FaceInFrame } from '../vision/FaceAligner.ts';
import type { AffectPrediction, FaceDetection } from '../vision/types.ts';
import { detectFaces, type DetectedFrame, type DetectionMode, type Detector } from './detectFaces.ts';
import type { FaceTrackerOptions, Tracked } from './FaceTracker.ts';
import type { MicroBatcher } from './microBatch.ts';
import type { RegionTrackingOptions } from './regionTracking.ts';
import { smoothAffect, type SmoothAffectOptions } from './smoothAffect.ts';
import { trackFaces } from './trackFaces.ts';

/** A face of one frame: where it was found, and what the model made of it. */
export interface AnalysedFace {
  detection: FaceDetection;
  prediction: AffectPrediction;
}

/** When detection started and ended and inference finished (scheduler clock: epoch ms), for per-stage latency; how faces were found, for cost accounting. */
export interface AnalysisTimes {
  detectStart: number;
  detectEnd: number;
  inferEnd: number;
  detectMode: DetectionMode;
  /** The detector's own time on this frame (see DetectedFrame.detectorMs). */
  detectorMs: number;
}

/** One analysed frame of one stream: tracked faces with smoothed affect, and tracks that ended. */
export interface AnalysedFrame extends AnalysisTimes {
  frame: Frame;
  faces: Tracked<AnalysedFace>[];
  ended: number[];
}

export interface AnalyseStreamOptions {
  detector: Detector;
  inference: MicroBatcher<FaceInFrame, AffectPrediction>;
  /** Region-of-interest detection (regionTracking.ts); undefined: every frame is searched whole. */
  regions?: RegionTrackingOptions;
  tracking?: FaceTrackerOptions;
  smoothing?: SmoothAffectOptions;
  /** A frame replaced by a newer one before it could be analysed. */
  onDrop?: (frame: Frame) => void;
  /** A frame whose analysis failed (detector or model fault); the stream goes on with the next one. */
  onError?: (error: unknown, frame: Frame) => void;
  /** Clock of the stage times and of the sampler. Default `asyncScheduler` (virtual inside `TestScheduler.run`). */
  scheduler?: SchedulerLike;
}

interface Inferred extends AnalysisTimes {
  frame: Frame;
  /** The frame's arrival time: the clock of tracking and smoothing, independent of processing delays. */
  timeMs: number;
  faces: AnalysedFace[];
}

/**
 * Frames of one stream in, analysed frames out: latest-wins sampling (never a queue), detection (of the whole
 * frame, or with `regions` mostly around the faces of the frame before), inference through the shared
 * micro-batcher (each prediction paired with its detection), then tracking and causal smoothing in frame order.
 * Tracking runs after inference: the model does not need ids, and this keeps the busy period of one frame a single
 * async step that the sampler can see.
 */
export function analyseStream(options: AnalyseStreamOptions): OperatorFunction<Frame, AnalysedFrame> {
  const { detector, inference, scheduler = asyncScheduler } = options;
  const infer = ({ frame, detections, detectStart, detectEnd, mode, detectorMs }: DetectedFrame) =>
    (detections.length
      ? forkJoin(detections.map((detection) => inference.submit({ image: frame, detection }).pipe(map((prediction) => ({ detection, prediction })))))
      : of([])
    ).pipe(
      map(
        (faces): Inferred => ({
          frame,
          timeMs: frame.arrivalTime,
          detectStart,
          detectEnd,
          inferEnd: scheduler.now(),
          detectMode: mode,
          detectorMs,
          faces,
        }),
      ),
    );

  return (frames) =>
    frames.pipe(
      detectFaces({ detector, regions: options.regions, then: infer, onDrop: options.onDrop, onError: options.onError, scheduler }),
      trackFaces(options.tracking),
      smoothAffect(options.smoothing),
      map(({ timeMs: _, ...analysed }): AnalysedFrame => analysed),
    );
}
