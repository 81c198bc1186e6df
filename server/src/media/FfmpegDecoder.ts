import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { FramePool } from './FramePool.ts';
import { frameRateFilter } from './frameRate.ts';

/** What ffmpeg reads: its input options and `-i` (everything before the filters), and what its stdin gets. */
export interface DecoderInput {
  args: string[];
  stdin?: string;
}

export interface DecoderOptions {
  ffmpegPath: string;
  input: DecoderInput;
  /** Frames larger than this box are scaled down to fit inside it, keeping their aspect ratio; smaller ones stay as they are. */
  maxWidth: number;
  maxHeight: number;
  /** At most this many frames per second come out; the rest are dropped before scaling. */
  maxFps: number;
  /** Where frame buffers come from; without one, each frame gets a fresh buffer. */
  frames?: FramePool;
}

export interface DecodedFrame {
  width: number;
  height: number;
  /** RGB24 pixels; the buffer belongs to the receiver (who gives it back to `frames`, if it came from there). */
  pixels: Uint8Array;
  /** Presentation time in the input's time base: RTP clock units for RTP (timestamps kept as they came). */
  pts: number;
  /** The same in seconds. */
  ptsTime: number;
  decodedTime: number;
}

export interface DecoderEvents {
  frame: [frame: DecodedFrame];
  /** The process ended; `expected` is false when it was not asked to stop. */
  exit: [info: { expected: boolean; code: number | null; signal: NodeJS.Signals | null; lastLog: string[] }];
}

/** showinfo's line for each frame: `n:  12 pts: 123456 pts_time:1.3717 ... s:640x480 ...`. */
const FRAME_INFO = /\bn:\s*\d+\s+pts:\s*(-?\d+)\s+pts_time:\s*(-?[\d.]+)\b.*?\bs:(\d+)x(\d+)\b/;
/** Frames of output without their log line tolerated before the decoder is considered out of step. */
const MAX_PENDING_FRAMES = 4;
const LOG_LINES_KEPT = 20;

/**
 * RTP described by an SDP on stdin, started on its first packets: keeping RTP-derived timestamps as they
 * are, so that pts maps back to RTP timestamps.
 */
export function rtpInput(sdp: string): DecoderInput {
  return {
    stdin: sdp,
    args: [
      '-protocol_whitelist', 'pipe,udp,rtp',
      // Start on the first packets instead of probing for seconds. Not `-fflags nobuffer`: it throws away
      // the packets read while probing, i.e. the keyframe, and the decoder would wait for the next one.
      '-probesize', '32',
      '-analyzeduration', '0',
      '-flags', 'low_delay',
      '-reorder_queue_size', '0',
      '-max_delay', '0',
      // Frame threading would add one frame of delay per thread.
      '-threads', '1',
      '-copyts',
      '-f', 'sdp',
      '-i', 'pipe:0',
    ],
  };
}

/**
 * One native ffmpeg process: video in (RTP, or a pulled source), raw RGB frames out on stdout.
 * Frame sizes and pts come from the `showinfo` filter on stderr, one line per frame written, in order.
 */
export class FfmpegDecoder extends EventEmitter<DecoderEvents> {
  readonly #process: ChildProcess;
  readonly #infos: { pts: number; ptsTime: number; width: number; height: number }[] = [];
  #chunks: Buffer[] = [];
  #buffered = 0;
  #stopping = false;
  readonly #lastLog: string[] = [];
  readonly #maxPendingBytes: number;
  readonly #frameBuffer: (bytes: number) => Uint8Array;

  constructor(options: DecoderOptions) {
    super();
    const pool = options.frames;
    this.#frameBuffer = pool ? (bytes) => pool.take(bytes) : (bytes) => Buffer.allocUnsafe(bytes);
    const { maxWidth: w, maxHeight: h } = options;
    this.#maxPendingBytes = MAX_PENDING_FRAMES * w * h * 3;
    const args = [
      '-hide_banner',
      '-nostats',
      '-loglevel', 'info',
      ...options.input.args,
      '-an',
      '-vf',
      `${frameRateFilter(options.maxFps)},scale=w='min(iw,${w})':h='min(ih,${h})':force_original_aspect_ratio=decrease:force_divisible_by=2:flags=bilinear,` +
        'format=rgb24,showinfo=checksum=0',
      '-fps_mode', 'passthrough',
      // The rawvideo encoder is frame-threaded: with more than one thread it holds each frame until the
      // next ones arrive, one frame interval (or more, on more cores) of latency for nothing.
      '-threads', '1',
      '-f', 'rawvideo',
      'pipe:1',
    ];
    this.#process = spawn(options.ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#process.stdin!.on('error', () => {});
    this.#process.stdin!.end(options.input.stdin ?? '');
    this.#process.stdout!.on('data', (chunk: Buffer) => this.#onOutput(chunk));
    let partial = '';
    this.#process.stderr!.setEncoding('utf8').on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.#onLog(line);
    });
    this.#process.once('error', (error) => this.#remember(`spawn failed: ${error.message}`));
    this.#process.once('close', (code, signal) =>
      this.emit('exit', { expected: this.#stopping, code, signal, lastLog: [...this.#lastLog] }),
    );
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  stop(): void {
    this.#stopping = true;
    this.#process.kill('SIGKILL');
  }

  #onLog(line: string): void {
    const match = FRAME_INFO.exec(line);
    if (!match) {
      if (line.trim() && !line.includes('Parsed_showinfo')) this.#remember(line);
      return;
    }
    this.#infos.push({ pts: Number(match[1]), ptsTime: Number(match[2]), width: Number(match[3]), height: Number(match[4]) });
    this.#deliver();
  }

  #onOutput(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#deliver();
  }

  #deliver(): void {
    for (;;) {
      const info = this.#infos[0];
      if (!info) {
        // Output ahead of its log line is normal for a moment; far ahead means the two are out of step.
        if (this.#buffered > this.#maxPendingBytes) this.#outOfStep();
        return;
      }
      const size = info.width * info.height * 3;
      if (this.#buffered < size) return;
      this.#infos.shift();
      const pixels = this.#take(size);
      this.emit('frame', { width: info.width, height: info.height, pixels, pts: info.pts, ptsTime: info.ptsTime, decodedTime: Date.now() });
    }
  }

  /** The next `size` output bytes in a buffer of their own: one copy out of the pipe's chunks. */
  #take(size: number): Uint8Array {
    const out = this.#frameBuffer(size);
    let filled = 0;
    while (filled < size) {
      const chunk = this.#chunks[0]!;
      const n = Math.min(chunk.length, size - filled);
      out.set(n === chunk.length ? chunk : chunk.subarray(0, n), filled);
      filled += n;
      if (n === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(n);
    }
    this.#buffered -= size;
    return out;
  }

  #outOfStep(): void {
    this.#remember('frame output and frame log out of step; stopping');
    this.#process.kill('SIGKILL');
  }

  #remember(line: string): void {
    this.#lastLog.push(line);
    if (this.#lastLog.length > LOG_LINES_KEPT) this.#lastLog.shift();
  }
}
