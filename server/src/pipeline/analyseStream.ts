import { EMPTY, catchError, defer, forkJoin, map, of, switchMap, type OperatorFunction } from 'rxjs';
import type { Frame } from '../media/Frame.ts';
import type { FaceInFrame } from '../vision/FaceAligner.ts';
import type { FaceDetector } from '../vision/FaceDetector.ts';
import type { AffectPrediction, FaceDetection } from '../vision/types.ts';
import type { FaceTrackerOptions } from './FaceTracker.ts';
import type { MicroBatcher } from './microBatch.ts';
import { processLatest } from './processLatest.ts';
import { smoothAffect, type SmoothAffectOptions } from './smoothAffect.ts';
import { trackFaces } from './trackFaces.ts';

/** One analysed frame of one stream: tracked faces with smoothed affect, and tracks that ended. */
export interface AnalysedFrame {
  frame: Frame;
  /** When detection started and ended and inference finished, for per-stage latency. */
  detectStart: number;
  detectEnd: number;
  inferEnd: number;
  faces: { id: number; detection: FaceDetection; prediction: AffectPrediction }[];
  ended: number[];
}

export interface AnalyseStreamOptions {
  detector: FaceDetector;
  inference: MicroBatcher<FaceInFrame, AffectPrediction>;
  tracking?: FaceTrackerOptions;
  smoothing?: SmoothAffectOptions;
  /** A frame replaced by a newer one before it could be analysed. */
  onDrop?: (frame: Frame) => void;
  /** A frame whose analysis failed (detector or model fault); the stream goes on with the next one. */
  onError?: (error: unknown, frame: Frame) => void;
}

interface Inferred {
  frame: Frame;
  /** The frame's arrival time: the clock of tracking and smoothing, independent of processing delays. */
  timeMs: number;
  detectStart: number;
  detectEnd: number;
  inferEnd: number;
  detections: FaceDetection[];
  predictions: AffectPrediction[];
}

/**
 * Frames of one stream in, analysed frames out: latest-wins sampling (never a queue), detection,
 * inference through the shared micro-batcher, then tracking and causal smoothing in frame order.
 * Tracking runs after inference: the model does not need ids, and this keeps the busy period of one
 * frame a single async step that the sampler can see.
 */
export function analyseStream(options: AnalyseStreamOptions): OperatorFunction<Frame, AnalysedFrame> {
  const { detector, inference } = options;
  const analyse = (frame: Frame) =>
    defer(async () => {
      const detectStart = Date.now();
      const detections = await detector.detect(frame);
      return { detectStart, detectEnd: Date.now(), detections };
    }).pipe(
      switchMap(({ detectStart, detectEnd, detections }) =>
        (detections.length
          ? forkJoin(detections.map((detection) => inference.submit({ image: frame, detection })))
          : of([] as AffectPrediction[])
        ).pipe(
          map((predictions): Inferred => ({
            frame,
            timeMs: frame.arrivalTime,
            detectStart,
            detectEnd,
            inferEnd: Date.now(),
            detections,
            predictions,
          })),
        ),
      ),
      catchError((error: unknown) => {
        options.onError?.(error, frame);
        return EMPTY;
      }),
    );

  return (frames) =>
    frames.pipe(
      // The frame tap already delivers at the analysis rate: frames are dropped here only while analysis is busy.
      processLatest(analyse, { onDrop: options.onDrop }),
      trackFaces<Inferred>(options.tracking),
      map((inferred) => ({
        ...inferred,
        faces: inferred.faces.map((face) => ({
          id: face.id,
          detection: face.detection,
          prediction: inferred.predictions[inferred.detections.indexOf(face.detection)]!,
        })),
      })),
      smoothAffect(options.smoothing),
      map(({ frame, detectStart, detectEnd, inferEnd, faces, ended }): AnalysedFrame => ({
        frame,
        detectStart,
        detectEnd,
        inferEnd,
        faces,
        ended: [...ended],
      })),
    );
}
