import { asyncScheduler, defer, forkJoin, identity, map, of, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Frame } from '../media/Frame.ts';
import type { FaceInFrame } from '../vision/FaceAligner.ts';
import type { AffectPrediction, FaceDetection } from '../vision/types.ts';
import { AnalysisRate } from './analysisRate.ts';
import { detectFaces, type DetectedFrame, type DetectionMode, type Detector } from './detectFaces.ts';
import type { FairTurns } from './fairTurns.ts';
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
  /** Frames of this stream analysed per second lately (analysisRate.ts); undefined for its first frame. */
  analysisFps: number | undefined;
}

export interface AnalyseStreamOptions {
  detector: Detector;
  inference: MicroBatcher<FaceInFrame, AffectPrediction>;
  /** Region-of-interest detection (regionTracking.ts); undefined: every frame is searched whole. */
  regions?: RegionTrackingOptions;
  tracking?: FaceTrackerOptions;
  /** `false`: each frame's affect as the model judged it alone (no temporal smoothing). */
  smoothing?: SmoothAffectOptions | false;
  /** A frame replaced by a newer one before it could be analysed. */
  onDrop?: (frame: Frame) => void;
  /** Offline: every frame analysed, none dropped (see DetectFacesOptions.everyFrame: the source bounds what is in flight). */
  everyFrame?: boolean;
  /** Turns at the vision workers shared by every stream, so that an overloaded machine shares itself out evenly. */
  turns?: FairTurns;
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
    defer(() => {
      const rate = new AnalysisRate();
      return frames.pipe(
        detectFaces({
          detector,
          regions: options.regions,
          then: infer,
          onDrop: options.onDrop,
          everyFrame: options.everyFrame,
          turns: options.turns,
          onError: options.onError,
          scheduler,
        }),
        trackFaces(options.tracking),
        options.smoothing === false ? identity : smoothAffect(options.smoothing),
        map(({ timeMs, ...analysed }): AnalysedFrame => ({ ...analysed, analysisFps: rate.add(timeMs) })),
      );
    });
}
