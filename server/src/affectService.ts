import { EMPTY, catchError, endWith, finalize, ignoreElements, mergeMap, takeUntil, tap, type Observable } from 'rxjs';
import type { Config } from './config.ts';
import type { AffectHub } from './events/AffectHub.ts';
import { StreamEvents } from './events/StreamEvents.ts';
import { createLogger } from './log.ts';
import type { FramePool } from './media/FramePool.ts';
import type { FrameStream } from './media/FrameTaps.ts';
import type { Metrics } from './metrics.ts';
import { createAffectInference } from './pipeline/affectInference.ts';
import { analysisLoad, RecentFrames, type AnalysisLoad } from './pipeline/analysisLoad.ts';
import { createFairTurns } from './pipeline/fairTurns.ts';
import { analyseStream, type AnalysedFrame } from './pipeline/analyseStream.ts';
import { configuredAnalysis } from './pipeline/configuredAnalysis.ts';
import { ranDetector } from './pipeline/detectFaces.ts';
import type { AffectModel } from './vision/AffectModel.ts';
import type { FaceDetector } from './vision/FaceDetector.ts';

const log = createLogger('analysis');

export interface AffectService {
  /** How the analysis keeps up now. */
  load(): AnalysisLoad;
  stop(): void;
}
/** Streams whose next sequence number is remembered after their analysis stopped (~50 bytes each). */
const MAX_REMEMBERED_STREAMS = 10_000;

export interface AffectServiceDeps {
  /** Every stream to analyse as it starts: the frame taps' (call participants, WHIP) and the pulled sources'. */
  streams$: Observable<FrameStream>;
  detector: FaceDetector;
  model: AffectModel;
  hub: AffectHub;
  metrics: Metrics;
  options: Config['analysis'];
  /** Where the streams' frame buffers go back once their analysis is over or was dropped; none: they are collected. */
  frames?: FramePool;
}

/**
 * Runs the analysis pipeline on every stream (tapped or pulled) and publishes its events: frames -> faces ->
 * affect -> events. One micro-batcher is shared by all streams; everything else is per stream, and a
 * fault in one stream ends that stream's analysis only.
 */
export function startAffectService(deps: AffectServiceDeps): AffectService {
  const { streams$, detector, model, hub, metrics, options, frames } = deps;
  const turns = createFairTurns(options.concurrency);
  const recent = new RecentFrames();
  /** Each analysed stream's latest analysisFps. */
  const streamFps = new Map<string, number>();
  let streams = 0;
  const inference = createAffectInference(model, {
    maxBatchSize: options.maxBatchSize,
    maxWaitMs: options.maxBatchWaitMs,
    // Only while at least two more faces are likely to come meanwhile: a lone stream's faces do not wait for nothing.
    waitWhileGapBelowMs: options.maxBatchWaitMs / 2,
    onBatch: (stats) => {
      metrics.batchSize.observe(stats.size);
      metrics.modelRun.observe(stats.runMs / 1000);
    },
    onWork: (ms) => metrics.analysisWork.inc({ work: 'model' }, ms / 1000),
  });
  const analyse = analyseStream({
    detector,
    inference,
    ...configuredAnalysis(options, model.info),
    turns,
    onDrop: (frame) => {
      frames?.give(frame.pixels);
      metrics.framesDropped.inc();
      recent.add('dropped', Date.now());
    },
    onError: (error, frame) => {
      frames?.give(frame.pixels);
      metrics.analysisErrors.inc();
      log.warn('frame analysis failed', { streamId: frame.streamId, error });
    },
  });

  // A stream tapped again (its participant opted out of analysis and back in) numbers its events on from
  // where it stopped: sequence numbers stay contiguous per stream, and a jump always means lost events.
  // Bounded: the oldest streams are forgotten first (a stream that comes back after that starts at 0 again).
  const nextSeqs = new Map<string, number>();
  const analyseOne = (stream: FrameStream) => {
    const events = new StreamEvents(
      { roomId: stream.roomId, peerId: stream.peerId, producerId: stream.streamId },
      { name: model.info.name, version: model.info.version },
      nextSeqs.get(stream.streamId) ?? 0,
    );
    // When the stream ends (its tap closed: the participant opted out of analysis, or left), a frame still
    // being analysed is dropped, not published: nothing about a participant comes after its opt-out.
    const ended$ = stream.frames$.pipe(ignoreElements(), endWith(true));
    streams += 1;
    return stream.frames$.pipe(
      analyse,
      takeUntil(ended$),
      tap((analysed) => {
        // Faces are cropped as their batch starts: by now nothing reads the frame's pixels.
        frames?.give(analysed.frame.pixels);
        const now = Date.now();
        recent.add('analysed', now);
        if (analysed.analysisFps !== undefined) streamFps.set(stream.streamId, analysed.analysisFps);
        observeLatency(metrics, analysed, now);
        if (ranDetector(analysed.detectMode)) metrics.analysisWork.inc({ work: `detect_${analysed.detectMode}` }, analysed.detectorMs / 1000);
        for (const event of events.fromFrame(analysed, now)) hub.publish(event);
      }),
      catchError((error: unknown) => {
        log.error('stream analysis failed; this stream is no longer analysed', { streamId: stream.streamId, error });
        return EMPTY;
      }),
      finalize(() => {
        streams -= 1;
        streamFps.delete(stream.streamId);
        for (const event of events.end()) hub.publish(event);
        nextSeqs.delete(stream.streamId);
        nextSeqs.set(stream.streamId, events.nextSeq);
        if (nextSeqs.size > MAX_REMEMBERED_STREAMS) nextSeqs.delete(nextSeqs.keys().next().value!);
      }),
    );
  };

  const subscription = streams$.pipe(mergeMap(analyseOne)).subscribe();
  const load = () => analysisLoad(turns, recent, streams, streamFps.values(), Date.now());
  metrics.observeAnalysisLoad(load);
  return { load, stop: () => subscription.unsubscribe() };
}

/**
 * What one analysed frame adds to the metrics, its event emitted at `now`. Arrival -> decoded is not
 * here: the frame tap observes it (`tap_latency_seconds`) for every frame it decodes.
 */
export function observeLatency(metrics: Metrics, analysed: AnalysedFrame, now: number): void {
  const { frame } = analysed;
  metrics.framesAnalysed.inc();
  metrics.stageLatency.observe({ stage: 'queue' }, (analysed.detectStart - frame.decodedTime) / 1000);
  metrics.stageLatency.observe({ stage: 'detect' }, (analysed.detectEnd - analysed.detectStart) / 1000);
  metrics.stageLatency.observe({ stage: 'infer' }, (analysed.inferEnd - analysed.detectEnd) / 1000);
  metrics.stageLatency.observe({ stage: 'emit' }, (now - frame.arrivalTime) / 1000);
}
