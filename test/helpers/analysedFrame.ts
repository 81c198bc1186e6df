import type { AnalysedFrame } from '../../server/src/pipeline/analyseStream.ts';
import type { AffectPrediction, FaceDetection } from '../../server/src/vision/types.ts';
import { emptyFrame } from './frames.ts';

const prediction: AffectPrediction = {
  valence: 0.4,
  arousal: -0.2,
  expression: { label: 'happiness', probs: { neutral: 0.3, happiness: 0.7 } },
  aus: { AU12: { p: 0.8, active: true } },
};
const detection: FaceDetection = {
  box: { x: 600, y: -10, width: 80, height: 100 },
  keypoints: [],
  score: 0.9,
};

/**
 * A frame of stream `s` that arrived at `arrivalTime`, with the tracker's confirmed faces and ended ids;
 * each stage after arrival takes a few ms (decoded +30, detection +31..+36, inference done +40); the stream is
 * analysed at 10 frames a second.
 */
export function analysedFrameAt(arrivalTime: number, faceIds: number[], ended: number[] = []): AnalysedFrame {
  return {
    frame: emptyFrame(0, arrivalTime, arrivalTime + 30),
    detectStart: arrivalTime + 31,
    detectEnd: arrivalTime + 36,
    inferEnd: arrivalTime + 40,
    detectMode: 'full',
    detectorMs: 4,
    faces: faceIds.map((id) => ({ id, detection, prediction })),
    ended,
    analysisFps: 10,
  };
}
