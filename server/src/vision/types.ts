/** Pixel coordinates in the frame the face was found in. */
export interface Point {
  x: number;
  y: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * BlazeFace keypoint order: 0 right eye, 1 left eye, 2 nose tip, 3 mouth centre,
 * 4 right ear tragion, 5 left ear tragion (subject's right/left).
 */
export interface FaceDetection {
  box: Box;
  keypoints: Point[];
  score: number;
}

export interface ExpressionPrediction {
  label: string;
  probs: Record<string, number>;
}

export interface ActionUnitPrediction {
  p: number;
  active: boolean;
}

/** Decoded affect model output for one face. */
export interface AffectPrediction {
  valence: number;
  arousal: number;
  expression: ExpressionPrediction;
  aus: Record<string, ActionUnitPrediction>;
}

/**
 * What vision needs from a frame: packed RGB24, row-major, `width * height * 3` bytes.
 * `Frame` (media/) has this shape, so frames are passed as they are.
 */
export interface RgbImage {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** One face of a frame, found and analysed. */
export interface AnalyzedFace {
  detection: FaceDetection;
  affect: AffectPrediction;
}
