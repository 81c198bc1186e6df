import { Subject, type Observable } from 'rxjs';
import type { SourceInfo, SourceState } from '../../../protocol/sources.ts';
import { createLogger } from '../log.ts';
import { FfmpegDecoder, type DecodedFrame } from '../media/FfmpegDecoder.ts';
import type { Frame } from '../media/Frame.ts';
import type { FrameTapOptions } from '../media/FrameTap.ts';
import { restartDelayMs } from '../media/FrameTap.ts';
import { StaleRun, type LaggingDecoders } from '../media/staleRun.ts';
import type { Metrics } from '../metrics.ts';
import { TokenBucket } from '../signaling/rateLimit.ts';
import { redacted, resolveSource, withoutCredentials, type Lookup, type ResolvedSource } from './resolveSource.ts';
import type { SourcePolicy } from './sourceAddress.ts';
import { sourceInput } from './sourceInput.ts';

const log = createLogger('ingest/source');

export interface PulledSourceOptions extends Pick<FrameTapOptions, 'width' | 'height' | 'fps' | 'maxLagMs' | 'ffmpegPath' | 'frames'> {
  policy: SourcePolicy;
  /** Pause before the first reconnection, doubled for each attempt in a row without a frame (at most 60 s). */
  reconnectDelayMs: number;
  /** No frame for this long (from the connection's start, or since the last frame): ffmpeg is stopped and the source reconnects. */
  stallTimeoutMs: number;
  /** Attempts in a row without a frame after which the source gives up (`failed`). */
  maxFailures: number;
  lookup?: Lookup;
  /** The checking proxy an http(s) source's ffmpeg goes through (SourceProxy.ts). */
  httpProxy: string;
  /** The process's decoders, of which this source's is one: whether a reconnection would help. */
  lagging: LaggingDecoders;
}

export interface SourceIds {
  id: string;
  roomId: string;
  peerId: string;
  name: string;
}

/**
 * A source whose frames stay stale this long is reconnected past its backlog (or past a jump back of its
 * timestamps). A shorter lag (the CPU taken for a moment) only drops frames until ffmpeg catches up: a
 * reconnection costs a new connection, probing and a keyframe, and some servers take no second connection.
 */
const SUSTAINED_LAG_MS = 10_000;
/** Frames a source may deliver at once beyond its rate: a frame's jitter is no reason to drop the next. */
const FRAME_BURST = 2;

/**
 * One video source the server pulls (RTSP, RTMP, SRT, HLS or a file over HTTP): a native ffmpeg decoding it
 * into the analysis frames, as the frame tap's does for RTP. Each connection checks the URL again (a name
 * may resolve elsewhere by now); a connection that ends, stalls or fails is replaced after a capped
 * exponential back-off, and after `maxFailures` in a row without a frame the source gives up.
 */
export class PulledSource {
  readonly #frames = new Subject<Frame>();
  readonly frames$: Observable<Frame> = this.#frames.asObservable();
  readonly createdAt = Date.now();
  #state: SourceState = 'connecting';
  #decoder?: FfmpegDecoder;
  #closed = false;
  #seq = 0;
  #connections = 0;
  #failures = 0;
  #lastError: string | undefined;
  #connectionStart = 0;
  #lastFrameTime = 0;
  /** How long this connection's frames have all been stale. */
  readonly #behind: StaleRun;
  /** Smallest (decoded time - media time) of this connection's frames: how far behind it runs when it keeps up. */
  #minDecodeOffset = Number.POSITIVE_INFINITY;
  #retryTimer?: NodeJS.Timeout;
  #watchdog?: NodeJS.Timeout;
  /**
   * ffmpeg passes TAP_FPS frames per second of media time; a live server that sends faster than real time
   * (a burst on connecting, a clock running fast) would pass more per second of wall time. Those are dropped here.
   */
  #rate = new TokenBucket(FRAME_BURST, 1, 0);

  constructor(
    readonly ids: SourceIds,
    /** The URL as given (it may carry a password: shown and logged only redacted). */
    private readonly url: string,
    private readonly options: PulledSourceOptions,
    private readonly metrics: Metrics,
    /** Called once, when the source gives up (`failed`). */
    private readonly onFailed: (source: PulledSource) => void,
  ) {
    this.#behind = new StaleRun(SUSTAINED_LAG_MS, options.lagging);
  }

  get state(): SourceState {
    return this.#state;
  }

  /** The running ffmpeg's process id, for operators and tests that need to see it. */
  get decoderPid(): number | undefined {
    return this.#decoder?.pid;
  }

  get info(): SourceInfo {
    return {
      id: this.ids.id,
      roomId: this.ids.roomId,
      peerId: this.ids.peerId,
      name: this.ids.name,
      url: redacted(this.url),
      state: this.#state,
      connections: this.#connections,
      framesDelivered: this.#seq,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
      createdAt: this.createdAt,
    };
  }

  /** Starts pulling from `first`, the URL as the request that added the source resolved it. */
  start(first: ResolvedSource): void {
    this.#connect(first);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#watchdog);
    this.#decoder?.stop();
    this.#decoder = undefined;
    this.#behind.close();
    this.metrics.framesDecoded.remove({ stream: this.ids.id });
    this.#frames.complete();
    log.info('source closed', { sourceId: this.ids.id, roomId: this.ids.roomId });
  }

  #connect(resolved: ResolvedSource): void {
    if (this.#closed) return;
    this.#connections += 1;
    this.#connectionStart = Date.now();
    this.#minDecodeOffset = Number.POSITIVE_INFINITY;
    this.#behind.reset();
    this.#rate = new TokenBucket(FRAME_BURST, this.options.fps, this.#connectionStart);
    const decoder = new FfmpegDecoder({
      ffmpegPath: this.options.ffmpegPath,
      input: sourceInput(resolved, this.options.httpProxy),
      maxWidth: this.options.width,
      maxHeight: this.options.height,
      maxFps: this.options.fps,
      frames: this.options.frames,
    });
    this.#decoder = decoder;
    this.metrics.decoders.inc();
    decoder.on('frame', (frame) => decoder === this.#decoder && this.#onFrame(frame));
    decoder.once('exit', ({ expected, code, signal, lastLog }) => {
      this.metrics.decoders.dec();
      if (expected || this.#closed || decoder !== this.#decoder) return;
      // Its last words, less the statistics it prints on the way out.
      const said = lastLog.filter((line) => !/^(frame=|video:)/.test(line)).map(withoutCredentials);
      const reason = said.at(-1) ?? `ffmpeg exited (${signal ?? code})`;
      log.warn('source connection ended', { sourceId: this.ids.id, code, signal, lastLog: said.slice(-3) });
      this.#retry(reason);
    });
    clearInterval(this.#watchdog);
    this.#watchdog = setInterval(() => this.#checkStall(decoder), Math.min(1000, this.options.stallTimeoutMs));
    log.info('source connecting', { sourceId: this.ids.id, url: redacted(resolved.url), pid: decoder.pid, attempt: this.#connections });
  }

  #checkStall(decoder: FfmpegDecoder): void {
    if (decoder !== this.#decoder || this.#closed) return;
    const since = Math.max(this.#connectionStart, this.#lastFrameTime);
    if (Date.now() - since < this.options.stallTimeoutMs) return;
    log.warn('source gave no frame; reconnecting', { sourceId: this.ids.id, afterMs: this.options.stallTimeoutMs });
    this.#retry(`no frame for ${this.options.stallTimeoutMs} ms`);
  }

  /**
   * Ends this connection and connects again after the back-off, or gives up after too many failures in a row.
   * `failed`: this attempt counts as one (by default, a connection that gave no frame).
   */
  #retry(reason: string, delayMs?: number, failed = this.#lastFrameTime < this.#connectionStart): void {
    const decoder = this.#decoder;
    this.#decoder = undefined;
    clearInterval(this.#watchdog);
    decoder?.stop();
    if (this.#closed) return;
    this.#lastError = reason;
    if (failed) this.#failures += 1;
    if (this.#failures >= this.options.maxFailures) {
      this.#state = 'failed';
      log.warn('source failed; giving up', { sourceId: this.ids.id, failuresInARow: this.#failures, reason });
      this.#frames.complete();
      this.onFailed(this);
      return;
    }
    this.#state = 'reconnecting';
    this.metrics.sourceReconnects.inc();
    const delay = delayMs ?? restartDelayMs(this.options.reconnectDelayMs, this.#failures);
    log.info('source reconnects', { sourceId: this.ids.id, delayMs: delay, failuresInARow: this.#failures, reason });
    this.#retryTimer = setTimeout(() => {
      // The name may resolve elsewhere now, or redirect elsewhere: checked again on every connection.
      resolveSource(this.url, this.options.policy, this.options.lookup).then(
        (resolved) => {
          if (this.#closed) return;
          if (resolved.ok) this.#connect(resolved.value);
          else this.#retry(`refused: ${resolved.reason}`, undefined, true);
        },
        (error: unknown) => this.#retry(`could not resolve: ${String(error)}`, undefined, true),
      );
    }, delay);
  }

  #onFrame(decoded: DecodedFrame): void {
    if (this.#lastFrameTime < this.#connectionStart) {
      this.#failures = 0;
      this.#state = 'live';
      log.info('source live', { sourceId: this.ids.id, msAfterConnect: decoded.decodedTime - this.#connectionStart });
    }
    this.#lastFrameTime = decoded.decodedTime;
    // A pulled stream has no arrival time per frame: how far behind ffmpeg runs is its decode time against
    // the frame's media time, relative to the least of that this connection has seen.
    const offset = decoded.decodedTime - decoded.ptsTime * 1000;
    this.#minDecodeOffset = Math.min(this.#minDecodeOffset, offset);
    const lagMs = offset - this.#minDecodeOffset;
    const stale = lagMs > this.options.maxLagMs;
    if (this.#behind.add(decoded.decodedTime, stale)) {
      log.warn('source stays behind; reconnecting to skip the backlog', { sourceId: this.ids.id, lagMs });
      this.#retry(`stayed ${Math.round(lagMs)} ms behind`, 0);
    }
    if (stale || !this.#rate.take(decoded.decodedTime)) {
      if (stale) this.metrics.staleFrames.inc();
      this.options.frames?.give(decoded.pixels);
      return;
    }
    this.metrics.framesDecoded.inc({ stream: this.ids.id });
    this.#frames.next({
      roomId: this.ids.roomId,
      peerId: this.ids.peerId,
      streamId: this.ids.id,
      seq: this.#seq++,
      width: decoded.width,
      height: decoded.height,
      pixels: decoded.pixels,
      arrivalTime: decoded.decodedTime,
      decodedTime: decoded.decodedTime,
    });
  }
}
