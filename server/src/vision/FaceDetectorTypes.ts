import type { SessionFactory } from './sessions.ts';

/**
 * The two BlazeFace exports vendored in models/blazeface/. `front128` is MediaPipe's short-range model (faces
 * larger than ~15% of the frame: webcam framing); `back256` was trained for whole back-camera scenes and finds
 * smaller faces at about 3-4x the cost.
 */
export type BlazeFaceModel = 'front128' | 'back256';

export interface FaceDetectorOptions {
  /** Opens the model on the configured execution provider. */
  sessions: SessionFactory;
  /** Which BlazeFace. Default `back256`: same recall as `front128` on webcam frames, and it also finds faces
   * narrower than ~9% of the frame that `front128` misses (measurements in models/blazeface/README.md). */
  model?: BlazeFaceModel;
  /**
   * The BlazeFace of `detectRegions`, which sees one face scaled to fill part of its input whatever its size in
   * the frame: the short-range `front128` (the default) suffices there, at about a fifth of `back256`'s cost.
   */
  regionModel?: BlazeFaceModel;
  /** A different ONNX file with the same I/O as `model` (e.g. a fine-tuned export). Default: the vendored file. */
  modelPath?: string;
  /** Keep candidates scoring at least this (0..1). Default 0.5, MediaPipe's own. */
  minScore?: number;
  /** Candidates overlapping the best by more than this are merged into it. Default 0.3, MediaPipe's own. */
  iouThreshold?: number;
}

/** Milliseconds spent per stage of the last detect(); filled in when the caller passes one (the benchmark). */
export interface DetectTimings {
  letterbox: number;
  detect: number;
  decode: number;
}

export const noTimings = (): DetectTimings => ({ letterbox: 0, detect: 0, decode: 0 });
