import path from 'node:path';
import { Subject } from 'rxjs';
import type { AffectStreamEvent } from '../../../protocol/affect-event.ts';
import type { Config } from '../config.ts';
import { StreamEvents } from '../events/StreamEvents.ts';
import type { Frame } from '../media/Frame.ts';
import { FramePool } from '../media/FramePool.ts';
import { createAffectInference } from '../pipeline/affectInference.ts';
import { analyseStream, type AnalysedFrame } from '../pipeline/analyseStream.ts';
import { configuredAnalysis } from '../pipeline/configuredAnalysis.ts';
import type { AffectModel } from '../vision/AffectModel.ts';
import type { FaceDetector } from '../vision/FaceDetector.ts';
import { AnalyseError, type Outcome } from './AnalyseError.ts';
import { VideoDecoder, type DecodeEnd } from './decodeVideo.ts';
import { keepLargestFaces } from './keepLargestFaces.ts';
import { probeVideo, type VideoProbe } from './probeVideo.ts';

/** One analysed frame of a recorded source, as the outputs take it. */
export interface OfflineFrame {
  /** The frame's place among the decoded frames, from 0. */
  index: number;
  sourceTimeMs: number;
  width: number;
  height: number;
  /** This frame's events (affect per tracked face, then face-lost for tracks that ended), each with `sourceTime`. */
  events: AffectStreamEvent[];
}

/** Where the results of one input go (see outputs.ts): frames in source order, then `close` exactly once. */
export interface OfflineSink {
  frame(frame: OfflineFrame): void;
  /** The last events (faces still tracked when the source ended), and how the analysis ended. */
  close(last: AffectStreamEvent[], summary: AnalyseSummary): Promise<void>;
}

/** Every sink gets every frame, and is closed in turn. */
export function fanOut(...sinks: OfflineSink[]): OfflineSink {
  return {
    frame: (frame) => sinks.forEach((sink) => sink.frame(frame)),
    close: async (last, summary) => {
      for (const sink of sinks) await sink.close(last, summary);
    },
  };
}

export interface AnalyseVideoOptions {
  input: string;
  fps: number | 'all';
  /** No temporal smoothing: each frame judged alone. */
  raw: boolean;
  startMs?: number;
  durationMs?: number;
  /** Only the N largest faces of a frame are analysed. */
  maxFaces?: number;
  /** The longer side is scaled down to this (never up): detection looks at 256 px anyway, and frames cost memory. */
  maxSide: number;
  /** Frames decoded and not yet out of the pipeline, at most: the memory bound (and enough to keep every worker busy). */
  inFlight: number;
  detector: FaceDetector;
  model: AffectModel;
  analysis: Config['analysis'];
  sink: OfflineSink;
  onProgress?: (progress: AnalyseProgress) => void;
  /** Aborted: decoding stops, the frames in flight finish, the output is closed as interrupted. */
  signal?: AbortSignal;
  /** The decoder is given up when it delivers nothing for this long (a stalled network source). */
  stallTimeoutMs?: number;
}

export interface AnalyseProgress {
  frames: number;
  /** Source time analysed so far, ms from the start asked for. */
  doneMs: number;
  elapsedMs: number;
  /** Of the part asked for, when the source's duration is known. */
  totalMs: number | undefined;
}

export interface AnalyseSummary {
  input: string;
  outcome: Outcome;
  /** What happened, for people; for `complete` the decoder's recovered errors if any. */
  message: string;
  probe: VideoProbe | undefined;
  /** The size analysed (the probed one, maybe scaled down). */
  size: { width: number; height: number } | undefined;
  frames: number;
  framesWithFaces: number;
  faces: number;
  events: number;
  /** Frames whose analysis failed (a vision fault): left out of the output. */
  failedFrames: number;
  firstSourceMs: number | undefined;
  lastSourceMs: number | undefined;
  elapsedMs: number;
  /** Sum of the detector's own time and of alignment plus the model's, ms: the per-stage cost. */
  detectorMs: number;
  /** Sum of each frame's detection from request to answer (round trip to a worker included), ms: frames are searched one at a time, so this paces the run. */
  detectRoundTripMs: number;
  modelMs: number;
  batches: number;
}

/** The stream ids of a recorded source's events: room `recorded`, the file's name as peer. */
function streamIds(input: string) {
  const name = path.basename(input).replace(/[^\w.-]/g, '_').slice(0, 64) || 'input';
  return { roomId: 'recorded', peerId: name, producerId: 'video' };
}

/** The analysed size: the display size, the longer side scaled down to `maxSide`, and never up. */
export function analysedSize(probe: Pick<VideoProbe, 'width' | 'height'>, maxSide: number): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(probe.width, probe.height));
  return { width: Math.max(2, Math.round(probe.width * scale)), height: Math.max(2, Math.round(probe.height * scale)) };
}

/**
 * One recorded video through the live service's analysis (the same detector, region tracking, aligner, model, tracker
 * and smoothing, configured the same way), every selected frame analysed in order. Frames are decoded once by ffmpeg
 * and read only while fewer than `inFlight` are in the pipeline, so memory stays flat however long the input is.
 * Never throws for a bad input: the sink is closed with a summary that says what happened.
 */
export async function analyseVideo(options: AnalyseVideoOptions): Promise<AnalyseSummary> {
  const started = Date.now();
  const summary: AnalyseSummary = {
    input: options.input,
    outcome: 'complete',
    message: '',
    probe: undefined,
    size: undefined,
    frames: 0,
    framesWithFaces: 0,
    faces: 0,
    events: 0,
    failedFrames: 0,
    firstSourceMs: undefined,
    lastSourceMs: undefined,
    elapsedMs: 0,
    detectorMs: 0,
    detectRoundTripMs: 0,
    modelMs: 0,
    batches: 0,
  };
  let last: AffectStreamEvent[] = [];
  try {
    summary.probe = await probeVideo(options.input);
    summary.size = analysedSize(summary.probe, options.maxSide);
    last = await runPipeline(options, summary.probe, summary.size, summary, started);
  } catch (error) {
    summary.outcome = error instanceof AnalyseError ? error.outcome : 'failed';
    const message = error instanceof Error ? error.message : String(error);
    summary.message = error instanceof AnalyseError ? message : `the analysis stopped: ${message}`;
  }
  summary.elapsedMs = Date.now() - started;
  try {
    await options.sink.close(last, summary);
  } catch (error) {
    summary.outcome = 'failed';
    summary.message = [summary.message, `the output could not be written: ${(error as Error).message}`].filter(Boolean).join('; ');
  }
  return summary;
}

async function runPipeline(
  options: AnalyseVideoOptions,
  probe: VideoProbe,
  size: { width: number; height: number },
  summary: AnalyseSummary,
  started: number,
): Promise<AffectStreamEvent[]> {
  const { model, analysis, sink } = options;
  const inference = createAffectInference(model, {
    maxBatchSize: analysis.maxBatchSize,
    // Every frame in flight is submitted as soon as its faces are found: waiting would not gather more, only idle.
    maxWaitMs: 0,
    // Bounded by the frames in flight times their faces: a full queue here would only lose frames.
    maxQueued: Number.MAX_SAFE_INTEGER,
    onBatch: () => summary.batches++,
    onWork: (ms) => (summary.modelMs += ms),
  });
  const detector = options.maxFaces ? keepLargestFaces(options.detector, options.maxFaces) : options.detector;
  const configured = configuredAnalysis(analysis, model.info);

  // The pipeline's clock (tracking, smoothing, region schedule) is the source's time, on a wall-clock base: the
  // analysis start. So results do not depend on how fast the machine is, and event times stay epoch ms.
  const base = started;
  const sourceTime = (epochMs: number) => Math.round((epochMs - base) * 1000) / 1000;
  const withSourceTime = (event: AffectStreamEvent): AffectStreamEvent => ({
    ...event,
    sourceTime: sourceTime(event.type === 'affect' ? event.arrivalTime : event.time),
  });
  const ids = streamIds(options.input);
  const events = new StreamEvents(ids, { name: model.info.name, version: model.info.version });

  // Frames are decoded into shared buffers that the vision workers read without a copy, each reused once its
  // frame is out of the pipeline.
  const pool = new FramePool();
  let inFlight = 0;
  let slotFree: (() => void) | undefined;
  const done = (frame: Frame) => {
    pool.give(frame.pixels);
    inFlight--;
    slotFree?.();
  };
  let failure: unknown;
  let broken = false;
  const frames = new Subject<Frame>();
  const finished = new Promise<void>((resolve) => {
    frames
      .pipe(
        analyseStream({
          detector,
          inference,
          ...configured,
          smoothing: options.raw ? false : configured.smoothing,
          everyFrame: true,
          onError: (error, frame) => {
            summary.failedFrames++;
            failure ??= error;
            done(frame);
          },
        }),
      )
      .subscribe({
        next: (analysed: AnalysedFrame) => {
          summary.detectorMs += analysed.detectorMs;
          summary.detectRoundTripMs += analysed.detectEnd - analysed.detectStart;
          const out = events.fromFrame(analysed, Date.now()).map(withSourceTime);
          summary.framesWithFaces += analysed.faces.length > 0 ? 1 : 0;
          summary.faces += analysed.faces.length;
          summary.events += out.length;
          try {
            sink.frame({ index: analysed.frame.seq, sourceTimeMs: sourceTime(analysed.frame.arrivalTime), width: size.width, height: size.height, events: out });
          } catch (error) {
            // An output that cannot be written (a full disk): no more frames are read, the run ends as failed.
            failure ??= error;
            broken = true;
          }
          done(analysed.frame);
        },
        error: (error: unknown) => {
          failure = error;
          broken = true;
          slotFree?.();
          resolve();
        },
        complete: resolve,
      });
  });

  const decoder = new VideoDecoder({
    input: options.input,
    ...size,
    fps: options.fps,
    startMs: options.startMs,
    durationMs: options.durationMs,
    stallTimeoutMs: options.stallTimeoutMs,
    frameBuffer: () => pool.take(size.width * size.height * 3),
  });
  const stop = () => decoder.stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  const endMs = expectedEndMs(probe, options);
  const totalMs = endMs === undefined ? undefined : endMs - (options.startMs ?? 0);
  try {
    for await (const source of decoder.frames()) {
      while (inFlight >= options.inFlight && !broken) await new Promise<void>((resolve) => (slotFree = resolve));
      if (options.signal?.aborted || broken) break;
      inFlight++;
      summary.frames++;
      summary.firstSourceMs ??= source.sourceTimeMs;
      summary.lastSourceMs = source.sourceTimeMs;
      const at = base + source.sourceTimeMs;
      frames.next({ roomId: ids.roomId, peerId: ids.peerId, streamId: ids.producerId, seq: source.index, ...size, pixels: source.pixels, arrivalTime: at, decodedTime: at });
      options.onProgress?.({ frames: summary.frames, doneMs: source.sourceTimeMs - (options.startMs ?? 0), elapsedMs: Date.now() - started, totalMs });
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    frames.complete();
    await finished;
  }
  const end = await decoder.end;
  if (broken) throw failure;
  Object.assign(summary, judge(summary, end, probe, options, failure));
  return events.end().map(withSourceTime);
}

/** Where decoding should have ended, ms in the source; undefined when the source's length is unknown. */
function expectedEndMs(probe: VideoProbe, options: Pick<AnalyseVideoOptions, 'startMs' | 'durationMs'>): number | undefined {
  const start = options.startMs ?? 0;
  const ends = [probe.durationMs, options.durationMs === undefined ? undefined : start + options.durationMs].filter((t) => t !== undefined);
  return ends.length ? Math.min(...ends) : undefined;
}

function judge(
  summary: AnalyseSummary,
  end: DecodeEnd,
  probe: VideoProbe,
  options: AnalyseVideoOptions,
  failure: unknown,
): Pick<AnalyseSummary, 'outcome' | 'message'> {
  const errors = end.errors.length ? `: ${end.errors.slice(0, 3).join('; ')}` : '';
  if (options.signal?.aborted) return { outcome: 'interrupted', message: `interrupted after ${summary.frames} frames` };
  if (summary.failedFrames > 0 && summary.failedFrames === summary.frames) {
    return { outcome: 'failed', message: `the analysis failed on every frame (${(failure as Error)?.message ?? failure})` };
  }
  if (summary.frames === 0) {
    if (end.exitCode !== 0 || end.stalled) return { outcome: 'unreadable', message: `${options.input}: no frame could be decoded${errors}` };
    return { outcome: 'truncated', message: `${options.input}: no frame in the part asked for (it is ${fmtS(probe.durationMs)} long)` };
  }
  if (end.stalled) return { outcome: 'truncated', message: `the decoder delivered nothing for ${(options.stallTimeoutMs ?? 60_000) / 1000} s and was stopped` };
  const expected = expectedEndMs(probe, options);
  // The last frame starts up to a frame interval (or two, at a low --fps) before the end.
  const interval = 1000 / (options.fps === 'all' ? (probe.frameRate ?? 25) : options.fps);
  const short = expected !== undefined && summary.lastSourceMs! + 2 * interval + 500 < expected;
  if (end.exitCode !== 0 || end.leftoverBytes > 0 || short) {
    const where = expected === undefined ? '' : ` at ${fmtS(summary.lastSourceMs)} of ${fmtS(expected)}`;
    return { outcome: 'truncated', message: `decoding stopped early${where} (the file is cut off or damaged)${errors}` };
  }
  if (summary.framesWithFaces === 0) return { outcome: 'no-faces', message: `no face found in ${summary.frames} frames` };
  const failed = summary.failedFrames ? `; ${summary.failedFrames} frames failed and are left out (${(failure as Error)?.message ?? failure})` : '';
  return { outcome: 'complete', message: errors ? `the decoder recovered from errors${errors}${failed}` : failed.slice(2) };
}

const fmtS = (ms: number | undefined) => (ms === undefined ? '?' : `${(ms / 1000).toFixed(1)} s`);
