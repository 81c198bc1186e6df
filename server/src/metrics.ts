import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LaggingDecoders } from './media/staleRun.ts';
import type { AnalysisLoad } from './pipeline/analysisLoad.ts';

/** Counts read from the SFU's live state whenever metrics are scraped. */
export interface SfuCounts {
  workers: number;
  rooms: number;
  peers: number;
  transports: number;
  audioProducers: number;
  videoProducers: number;
  consumers: number;
}

/**
 * All Prometheus metrics of one server instance, on their own registry (tests start several servers).
 * Gauges of SFU state are read at scrape time from `sfuCounts`, so they can never drift from the truth.
 */
export function createMetrics(sfuCounts: () => SfuCounts) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const stateGauge = (name: string, help: string, read: (c: SfuCounts) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(sfuCounts()));
      },
    });
  // Read at scrape time from the running analysis and the decoders, once there are.
  let analysisLoad: (() => AnalysisLoad) | undefined;
  let lagging: LaggingDecoders | undefined;
  const loadGauge = (name: string, help: string, read: (load: AnalysisLoad) => number | null) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const value = analysisLoad && read(analysisLoad());
        if (value !== undefined && value !== null) this.set(value);
      },
    });
  return {
    registry,
    /** Where the analysis gauges read from. */
    observeAnalysisLoad(read: () => AnalysisLoad) {
      analysisLoad = read;
    },
    analysisStreamsWaiting: loadGauge('analysis_streams_waiting', 'streams with a frame waiting for their turn at the vision workers', (l) => l.waiting),
    analysisDroppedShare: loadGauge('analysis_dropped_share', 'share of decoded frames dropped unanalysed over the last 10 s', (l) => l.droppedShare),
    analysisMeanFps: loadGauge('analysis_stream_fps_mean', 'mean of the analysed streams\' own analysis rates (frames/s)', (l) => l.meanFps),
    analysisMinFps: loadGauge('analysis_stream_fps_min', 'lowest analysis rate among the analysed streams (frames/s)', (l) => l.minFps),
    workers: stateGauge('sfu_workers', 'mediasoup workers alive', (c) => c.workers),
    workerDeaths: new Counter({ name: 'sfu_worker_deaths_total', help: 'mediasoup workers that died', registers }),
    rooms: stateGauge('sfu_rooms', 'open rooms', (c) => c.rooms),
    peers: stateGauge('sfu_peers', 'joined peers', (c) => c.peers),
    transports: stateGauge('sfu_transports', 'open WebRTC transports of call participants', (c) => c.transports),
    audioProducers: stateGauge('sfu_audio_producers', 'open audio producers', (c) => c.audioProducers),
    videoProducers: stateGauge('sfu_video_producers', 'open video producers', (c) => c.videoProducers),
    consumers: stateGauge('sfu_consumers', 'open consumers of call participants', (c) => c.consumers),
    signalingErrors: new Counter({
      name: 'signaling_errors_total',
      help: 'requests answered with an error ack',
      labelNames: ['code'],
      registers,
    }),
    connectionsRefused: new Counter({
      name: 'connections_refused_total',
      help: 'socket.io connections refused: origin (a page of another site) or address (its client address holds MAX_CONNECTIONS_PER_IP)',
      labelNames: ['reason'],
      registers,
    }),
    taps: new Gauge({ name: 'tap_streams', help: 'video producers being tapped', registers }),
    decoders: new Gauge({ name: 'tap_decoders_running', help: 'ffmpeg decoder processes running', registers }),
    /** Where the decoders-behind gauge reads from. */
    observeLaggingDecoders(decoders: LaggingDecoders) {
      lagging = decoders;
    },
    decodersBehind: new Gauge({
      name: 'tap_decoders_behind',
      help: 'decoders (taps and pulled sources) whose frames are stale now; many at once: the host is short of CPU to decode',
      registers,
      collect() {
        if (lagging) this.set(lagging.behind);
      },
    }),
    framesDecoded: new Counter({
      name: 'tap_frames_decoded_total',
      help: 'frames delivered by the tap, per stream',
      labelNames: ['stream'],
      registers,
    }),
    decoderRestarts: new Counter({
      name: 'tap_decoder_restarts_total',
      help: 'ffmpeg decoder restarts after an unexpected exit',
      registers,
    }),
    staleFrames: new Counter({
      name: 'tap_frames_stale_total',
      help: 'frames dropped because they were decoded too long after they arrived (the decoder then restarts)',
      registers,
    }),
    keyFrameRequests: new Counter({ name: 'tap_keyframe_requests_total', help: 'keyframes requested by the tap', registers }),
    ingestSessions: new Gauge({
      name: 'ingest_sessions',
      help: 'video sent to the server other than by the call page: kind whip (WHIP publishers), pull (sources the server pulls with ffmpeg)',
      labelNames: ['kind'],
      registers,
    }),
    sourceReconnects: new Counter({
      name: 'ingest_source_reconnects_total',
      help: 'pulled sources reconnecting after their ffmpeg ended, stalled or fell behind',
      registers,
    }),
    affectEvents: new Counter({
      name: 'affect_events_total',
      help: 'affect stream events published',
      labelNames: ['type'],
      registers,
    }),
    subscribers: new Gauge({ name: 'affect_subscribers', help: 'connected affect stream subscribers', registers }),
    slowSubscribers: new Counter({
      name: 'affect_slow_subscribers_total',
      help: 'subscribers disconnected for falling too far behind',
      registers,
    }),
    framesAnalysed: new Counter({ name: 'analysis_frames_total', help: 'frames analysed', registers }),
    /** The vision work's own time (not waits for a worker), by kind: what a stream costs in detection and the model. */
    analysisWork: new Counter({
      name: 'analysis_work_seconds_total',
      help: 'vision work by kind: detect_full, detect_regions, detect_regions+full (a face not found again), model (alignment + inference)',
      labelNames: ['work'],
      registers,
    }),
    framesDropped: new Counter({
      name: 'analysis_frames_dropped_total',
      help: 'frames replaced by a newer one before analysis (latest wins)',
      registers,
    }),
    analysisErrors: new Counter({ name: 'analysis_errors_total', help: 'frames whose analysis failed', registers }),
    batchSize: new Histogram({
      name: 'analysis_batch_size',
      help: 'faces per affect model call',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    }),
    modelRun: new Histogram({
      name: 'analysis_model_run_seconds',
      help: 'one affect model call (a batch: alignment, inference, decoding)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16],
      registers,
    }),
    stageLatency: new Histogram({
      name: 'analysis_stage_seconds',
      help:
        'per-stage latency: queue (decoded->detect), detect, infer (faces detected->affect inferred: batch wait + model), emit (RTP arrival->emit); RTP arrival->decoded is tap_latency_seconds',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2],
      registers,
    }),
    tapLatency: new Histogram({
      name: 'tap_latency_seconds',
      help: 'RTP arrival of a frame at the server -> decoded frame in Node',
      buckets: [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
