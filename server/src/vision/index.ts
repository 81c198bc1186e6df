/** The vision module's public surface: what the pipeline and the server import. */
export { createSessionFactory, ProviderUnavailableError } from './sessions.ts';
export type { Provider, ProviderChoice, SessionFactory, SessionFactoryOptions } from './sessions.ts';
export { blazeFaceModelPath, createFaceDetector } from './FaceDetector.ts';
export type { BlazeFaceModel, DetectTimings, FaceDetector, FaceDetectorOptions } from './FaceDetector.ts';
export { createFaceAligner } from './FaceAligner.ts';
export type { FaceAligner, FaceAlignerOptions, FaceInFrame } from './FaceAligner.ts';
export type { CropSpec } from './alignment.ts';
export { loadAffectModel } from './AffectModel.ts';
export type { AffectModel, AffectModelOptions, PredictTimings } from './AffectModel.ts';
export { AffectModelContractError, METADATA_KEYS } from './affectContract.ts';
export type { AffectModelInfo } from './affectContract.ts';
export { createFaceAnalyzer } from './FaceAnalyzer.ts';
export type { FaceAnalyzer, FaceAnalyzerOptions } from './FaceAnalyzer.ts';
export type * from './types.ts';
