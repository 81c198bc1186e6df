import type { types } from 'mediasoup';
import { Subject, type Observable } from 'rxjs';
import { createLogger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { analysisLayer } from './analysisLayer.ts';
import { FfmpegDecoder, rtpInput, type DecodedFrame } from './FfmpegDecoder.ts';
import type { Frame } from './Frame.ts';
import type { FramePool } from './FramePool.ts';
import { freeUdpPort } from './ports.ts';
import { RtpRelay } from './RtpRelay.ts';
import { tapSdp, type TapCodec } from './sdp.ts';
import { StaleRun, type LaggingDecoders } from './staleRun.ts';

const log = createLogger('media/tap');

export interface FrameTapOptions {
  /** Frames are scaled down to fit inside width x height, aspect kept (never enlarged). */
  width: number;
  height: number;
  /**
   * Of a simulcast producer, the tap decodes the smallest layer at least 1/this of the camera's resolution
   * (analysisLayer); 1: always the full one.
   */
  layerMaxDownscale: number;
  fps: number;
  /** While no frame arrives for this long, a keyframe is requested again. */
  keyFrameIntervalMs: number;
  /**
   * Pause before a failed decoder is started again, doubled for each failure in a row (up to
   * MAX_RESTART_DELAY_MS): a stream that never decodes costs a decoder start now and then, not a spinning one.
   */
  restartDelayMs: number;
  /** A decoder with no frame this long after it started has failed (garbage or undecodable media): stopped. */
  firstFrameTimeoutMs: number;
  /** A frame decoded this long after it arrived is stale: it is dropped. */
  maxLagMs: number;
  /**
   * A decoder whose frames have all been stale for this long has fallen behind for good (starved of CPU, with a
   * backlog in its socket): it is restarted at a fresh keyframe. 0: at its first stale frame.
   */
  backlogRestartMs: number;
  /** Where decoded frames' buffers come from, and where a frame dropped here goes back; none: fresh buffers. */
  frames?: FramePool;
  ffmpegPath: string;
}

/** awaiting-media: no decoder until the stream's next packet; backing-off: a failed decoder's pause. */
export type DecoderState = 'awaiting-media' | 'running' | 'backing-off';

export interface TapIds {
  roomId: string;
  peerId: string;
}

/** Header extensions the tap must not receive: mediasoup would rotate nothing, ffmpeg would ignore the
 * orientation, and frames from a rotated phone would reach the detector sideways. */
const DROPPED_HEADER_EXTENSIONS = new Set(['urn:3gpp:video-orientation']);
/**
 * A decoder can only start at a keyframe, and one that arrives before ffmpeg has bound its port is lost.
 * So until a new decoder's first frame, keyframes are asked for this often (a PLI is a few bytes).
 */
const FIRST_FRAME_RETRY_MS = 250;
/**
 * A decoder that fell behind is restarted at most this often: under sustained overload, restarting every
 * stream's ffmpeg each second would spend the CPU that is short on process start-ups and lost keyframes.
 * In between, its stale frames are just dropped.
 */
const MIN_BACKLOG_RESTART_INTERVAL_MS = 10_000;
const MAX_RESTART_DELAY_MS = 60_000;

/** The pause before restarting a decoder after `failures` decoders in a row ended without a frame. */
export function restartDelayMs(baseMs: number, failures: number): number {
  return Math.min(MAX_RESTART_DELAY_MS, baseMs * 2 ** Math.max(0, failures - 1));
}

/**
 * Decoded frames of one video producer: a server-side consumer on a PlainTransport, relayed to a native
 * ffmpeg decoder, out as an Observable of RGB frames at the analysis size and rate.
 */
export class FrameTap {
  readonly streamId: string;
  readonly #frames = new Subject<Frame>();
  readonly frames$: Observable<Frame> = this.#frames.asObservable();
  #decoder?: FfmpegDecoder;
  #closed = false;
  #seq = 0;
  #lastFrameTime = 0;
  #decoderStartTime = 0;
  /** False while a (re)started decoder is not yet listening: a keyframe sent then would be lost. */
  #decoderListening = false;
  #lastKeyFrameRequest = 0;
  #keyFrameTimer?: NodeJS.Timeout;
  #restartTimer?: NodeJS.Timeout;
  #firstFrameTimer?: NodeJS.Timeout;
  #decoderState: DecoderState = 'awaiting-media';
  /** Decoders in a row that ended (exit or first-frame timeout) without delivering a frame. */
  #failures = 0;
  #lastBacklogRestart = Number.NEGATIVE_INFINITY;
  readonly #staleRun: StaleRun;
  /** Smallest (decoded time - media time) of this decoder's frames: how far it runs behind when it keeps up. */
  #minDecodeOffset = Number.POSITIVE_INFINITY;

  private constructor(
    readonly ids: TapIds,
    private readonly transport: types.PlainTransport,
    private readonly consumer: types.Consumer,
    private readonly relay: RtpRelay,
    private readonly codec: TapCodec,
    private readonly options: FrameTapOptions,
    private readonly metrics: Metrics,
    lagging: LaggingDecoders,
  ) {
    this.streamId = consumer.producerId;
    this.#staleRun = new StaleRun(options.backlogRestartMs, lagging);
  }

  static async create(
    router: types.Router,
    producer: types.Producer,
    ids: TapIds,
    options: FrameTapOptions,
    metrics: Metrics,
    /** The process's decoders, of which this tap's is one: whether a restart would help. */
    lagging: LaggingDecoders,
  ): Promise<FrameTap> {
    const transport = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      rtcpMux: true,
      comedia: false,
    });
    let relay: RtpRelay | undefined;
    try {
      const caps = router.rtpCapabilities;
      const spatialLayer = analysisLayer(producer.rtpParameters.encodings, options.layerMaxDownscale);
      const consumer = await transport.consume({
        producerId: producer.id,
        rtpCapabilities: {
          codecs: caps.codecs,
          headerExtensions: caps.headerExtensions?.filter((ext) => !DROPPED_HEADER_EXTENSIONS.has(ext.uri)),
        },
        paused: true,
        ...(spatialLayer === undefined ? {} : { preferredLayers: { spatialLayer } }),
      });
      const codec = consumer.rtpParameters.codecs[0];
      const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
      if (!codec || ssrc === undefined) throw new Error(`consumer of producer ${producer.id} has no codec or SSRC`);
      relay = await RtpRelay.create({ payloadType: codec.payloadType, ssrc, mimeType: codec.mimeType });
      await transport.connect({ ip: '127.0.0.1', port: relay.port });
      const tap = new FrameTap(ids, transport, consumer, relay, codec, options, metrics, lagging);
      consumer.on('producerclose', () => tap.close());
      consumer.on('transportclose', () => tap.close());
      await consumer.resume();
      // No ffmpeg for a producer that sends nothing: the decoder starts with the stream's first packet
      // (the packets before it listens are lost, and keyframes are asked for until its first frame).
      tap.#startWithMedia();
      tap.#keyFrameTimer = setInterval(() => tap.#requestKeyFrameIfNeeded(), FIRST_FRAME_RETRY_MS);
      return tap;
    } catch (error) {
      transport.close();
      relay?.close();
      throw error;
    }
  }

  /**
   * The simulcast layer (spatial, lowest first) this tap asks the SFU for; undefined when the producer sends one.
   * The SFU starts the tap on whichever layer gives a keyframe first and moves to this one once it can line the
   * layers' timestamps up (the sender's reports of both, a few seconds with a browser).
   */
  get analysedLayer(): number | undefined {
    return this.consumer.preferredLayers?.spatialLayer;
  }

  /** RTP packets of the tapped stream relayed to the decoder so far. */
  get packetsReceived(): number {
    return this.relay.packetsReceived;
  }

  /** The decoder's process id, e.g. for operators and tests that need to see it. */
  get decoderPid(): number | undefined {
    return this.#decoder?.pid;
  }

  get decoderState(): DecoderState {
    return this.#decoderState;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keyFrameTimer);
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#firstFrameTimer);
    this.#decoder?.stop();
    this.#staleRun.close();
    this.transport.close();
    this.relay.close();
    this.metrics.framesDecoded.remove({ stream: this.streamId });
    this.#frames.complete();
    log.info('tap closed', { streamId: this.streamId });
  }

  async #startDecoder(): Promise<void> {
    if (this.#closed) return;
    const port = await freeUdpPort();
    if (this.#closed) return;
    const decoder = new FfmpegDecoder({
      ffmpegPath: this.options.ffmpegPath,
      input: rtpInput(tapSdp(this.codec, port)),
      maxWidth: this.options.width,
      maxHeight: this.options.height,
      maxFps: this.options.fps,
      frames: this.options.frames,
    });
    this.#decoder = decoder;
    this.#decoderState = 'running';
    this.#decoderStartTime = Date.now();
    this.#decoderListening = false;
    this.#minDecodeOffset = Number.POSITIVE_INFINITY;
    this.#staleRun.reset();
    this.metrics.decoders.inc();
    // A replaced decoder's last frames, still in its pipe, are not this stream's any more.
    decoder.on('frame', (frame) => decoder === this.#decoder && this.#onFrame(frame));
    decoder.once('exit', ({ expected, code, signal, lastLog }) => {
      this.metrics.decoders.dec();
      if (expected || this.#closed) return;
      log.warn('decoder exited', { streamId: this.streamId, code, signal, lastLog: lastLog.slice(-5) });
      this.#restartLater(decoder);
    });
    clearTimeout(this.#firstFrameTimer);
    this.#firstFrameTimer = setTimeout(() => {
      if (decoder !== this.#decoder || this.#closed || this.#lastFrameTime >= this.#decoderStartTime) return;
      log.warn('decoder gave no frame; stopping it', { streamId: this.streamId, afterMs: this.options.firstFrameTimeoutMs });
      decoder.stop();
      this.#restartLater(decoder);
    }, this.options.firstFrameTimeoutMs);
    if (!(await this.relay.retarget(port))) {
      log.warn('decoder did not open its port in time; arrival times fall back to decode times', {
        streamId: this.streamId,
      });
    }
    if (decoder !== this.#decoder) return;
    this.#decoderListening = true;
    this.#requestKeyFrameIfNeeded();
    log.info('decoder started', { streamId: this.streamId, pid: decoder.pid, codec: this.codec.mimeType });
  }

  /** Starts another decoder after the back-off for `failed`, which ended unasked or timed out. */
  #restartLater(failed: FfmpegDecoder): void {
    if (failed !== this.#decoder) return;
    this.#decoder = undefined;
    if (this.#lastFrameTime < this.#decoderStartTime) this.#failures += 1;
    this.metrics.decoderRestarts.inc();
    const delayMs = restartDelayMs(this.options.restartDelayMs, this.#failures);
    log.info('decoder restarts', { streamId: this.streamId, delayMs, failuresInARow: this.#failures });
    this.#decoderState = 'backing-off';
    const packetsBefore = this.relay.packetsReceived;
    this.#restartTimer = setTimeout(() => {
      // A paused (or silent) producer gets its decoder back with its next packet, not with the next timer.
      if (this.relay.packetsReceived > packetsBefore) this.#startDecoder().catch((error: unknown) => log.error('decoder restart failed', { error }));
      else this.#startWithMedia();
    }, delayMs);
  }

  #startWithMedia(): void {
    this.#decoderState = 'awaiting-media';
    this.relay
      .nextPacket()
      .then(() => this.#startDecoder())
      .catch((error: unknown) => log.error('decoder start failed', { streamId: this.streamId, error }));
  }

  #onFrame(decoded: DecodedFrame): void {
    if (this.#lastFrameTime < this.#decoderStartTime) {
      this.#failures = 0;
      log.info('first frame', { streamId: this.streamId, msAfterDecoderStart: decoded.decodedTime - this.#decoderStartTime });
    }
    this.#lastFrameTime = decoded.decodedTime;
    const arrival = this.relay.arrivalOf(decoded.pts);
    const arrivalTime = arrival ?? decoded.decodedTime;
    if (arrival !== undefined) this.metrics.tapLatency.observe((decoded.decodedTime - arrival) / 1000);
    // How late the frame is: from its arrival when that is known, else from its media time, which is what a
    // decoder so far behind that the relay has forgotten the arrival (or never mapped it) still reports.
    const offset = decoded.decodedTime - (decoded.pts * 1000) / this.codec.clockRate;
    this.#minDecodeOffset = Math.min(this.#minDecodeOffset, offset);
    const lagMs = arrival !== undefined ? decoded.decodedTime - arrival : offset - this.#minDecodeOffset;
    const stale = lagMs > this.options.maxLagMs;
    if (this.#staleRun.add(decoded.decodedTime, stale)) this.#skipBacklog(lagMs);
    if (stale) {
      this.metrics.staleFrames.inc();
      this.options.frames?.give(decoded.pixels);
      return;
    }
    this.metrics.framesDecoded.inc({ stream: this.streamId });
    this.#frames.next({
      roomId: this.ids.roomId,
      peerId: this.ids.peerId,
      streamId: this.streamId,
      seq: this.#seq++,
      width: decoded.width,
      height: decoded.height,
      pixels: decoded.pixels,
      arrivalTime,
      decodedTime: decoded.decodedTime,
    });
  }

  /** Replaces a decoder that fell behind: what waits in its socket is too old to analyse anyway. */
  #skipBacklog(lagMs: number): void {
    const decoder = this.#decoder;
    const now = Date.now();
    if (!decoder || this.#closed || now - this.#lastBacklogRestart < MIN_BACKLOG_RESTART_INTERVAL_MS) return;
    this.#lastBacklogRestart = now;
    log.warn('decoder fell behind; restarting it to skip the backlog', { streamId: this.streamId, lagMs });
    this.#decoder = undefined;
    decoder.stop();
    this.metrics.decoderRestarts.inc();
    this.#startDecoder().catch((error: unknown) => log.error('decoder restart failed', { error }));
  }

  /** Asks for a keyframe while a new decoder waits for its first frame, and whenever frames stall. */
  #requestKeyFrameIfNeeded(): void {
    const now = Date.now();
    const sinceRequest = now - this.#lastKeyFrameRequest;
    const waitingForFirstFrame = this.#lastFrameTime < this.#decoderStartTime;
    const needed = waitingForFirstFrame
      ? sinceRequest >= FIRST_FRAME_RETRY_MS
      : now - this.#lastFrameTime >= this.options.keyFrameIntervalMs && sinceRequest >= this.options.keyFrameIntervalMs;
    if (!needed || !this.#decoderListening || this.#closed || this.consumer.closed) return;
    this.#lastKeyFrameRequest = now;
    this.metrics.keyFrameRequests.inc();
    this.consumer.requestKeyFrame().catch((error: unknown) => log.debug('keyframe request failed', { error }));
  }
}
