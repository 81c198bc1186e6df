import type { AffectModelInfo } from './affectContract.ts';
import type { BlazeFaceModel, DetectTimings } from './FaceDetectorTypes.ts';
import type { SessionFactoryOptions } from './sessions.ts';
import type { AffectPrediction, Box, FaceDetection } from './types.ts';

/** What a vision worker thread opens: the same sessions, detector and affect model as in-process vision. */
export interface VisionWorkerInit {
  sessions: Omit<SessionFactoryOptions, 'log'>;
  detector: { model: BlazeFaceModel; minScore: number };
  affectModelPath: string;
  /** The thread's nice value, set before its sessions (and any threads of theirs) start. */
  nice: number;
}

export type VisionWork =
  | { op: 'detect'; width: number; height: number; pixels: Uint8Array }
  | { op: 'detectRegions'; width: number; height: number; pixels: Uint8Array; regions: Box[] }
  | { op: 'predict'; crops: Float32Array; count: number };

/** `close`: finish the work already sent, release the sessions, and end the thread. */
export type VisionRequest = (VisionWork & { id: number }) | { op: 'close' };

export type VisionReply =
  | { type: 'log'; line: string }
  | { type: 'ready'; detector: { model: BlazeFaceModel; inputSize: number }; info: AffectModelInfo }
  | { type: 'detected'; id: number; faces: FaceDetection[]; timings: DetectTimings }
  | { type: 'detectedRegions'; id: number; faces: (FaceDetection | null)[]; timings: DetectTimings }
  | { type: 'predicted'; id: number; predictions: AffectPrediction[]; timings: { infer: number; postprocess: number } }
  | { type: 'failed'; id: number; name: string; message: string };
