import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { ByteRing } from './ByteRing.ts';
import type { FramePool } from './FramePool.ts';
import { openOutputSocket, type OutputSocket } from './outputSocket.ts';
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
/** A 320x240 frame and a read: what a simulcast call's analysed layer needs when output and log keep pace. */
const INITIAL_PENDING_BYTES = 320 * 240 * 3 + 64 * 1024;

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
  #process?: ChildProcess;
  #output?: OutputSocket;
  readonly #infos: { pts: number; ptsTime: number; width: number; height: number }[] = [];
  /**
   * Output not yet taken as frames, copied out of the socket's reads: about a frame and a read when all keeps pace.
   * Not sized for the worst case up front: 48 decoders' worth of worst-case buffers (4.6 MB each) faulting in at once
   * stalled the main thread for seconds.
   */
  readonly #pending = new ByteRing(INITIAL_PENDING_BYTES);
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
    void this.#start(options);
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  stop(): void {
    this.#stopping = true;
    // What is still in the socket is not wanted any more.
    this.#output?.reader.destroy();
    this.#process?.kill('SIGKILL');
  }

  async #start(options: DecoderOptions): Promise<void> {
    const { maxWidth: w, maxHeight: h } = options;
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
    let output: OutputSocket;
    try {
      output = await openOutputSocket((bytes) => this.#onOutput(bytes));
    } catch (error) {
      this.#remember(`no output socket: ${(error as Error).message}`);
      this.emit('exit', { expected: this.#stopping, code: null, signal: null, lastLog: [...this.#lastLog] });
      return;
    }
    if (this.#stopping) {
      output.childEnd.destroy();
      output.reader.destroy();
      this.emit('exit', { expected: true, code: null, signal: null, lastLog: [] });
      return;
    }
    const child = spawn(options.ffmpegPath, args, { stdio: ['pipe', output.childEnd, 'pipe'] });
    this.#process = child;
    this.#output = output;
    // The child has its own copy of its end now.
    output.childEnd.destroy();
    child.stdin!.on('error', () => {});
    child.stdin!.end(options.input.stdin ?? '');
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.#onLog(line);
    });
    child.once('error', (error) => this.#remember(`spawn failed: ${error.message}`));
    // Over once the process has ended and its last output is read: no frame comes after 'exit'.
    const outputRead = new Promise<void>((resolve) => output.reader.once('close', () => resolve()));
    output.reader.on('error', (error) => this.#remember(`output: ${error.message}`));
    child.once('close', (code, signal) =>
      void outputRead.then(() => this.emit('exit', { expected: this.#stopping, code, signal, lastLog: [...this.#lastLog] })),
    );
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

  #onOutput(bytes: Uint8Array): void {
    this.#pending.write(bytes);
    this.#deliver();
  }

  #deliver(): void {
    for (;;) {
      const info = this.#infos[0];
      if (!info) {
        // Output ahead of its log line is normal for a moment; far ahead means the two are out of step.
        if (this.#pending.length > this.#maxPendingBytes) this.#outOfStep();
        return;
      }
      const size = info.width * info.height * 3;
      if (this.#pending.length < size) return;
      this.#infos.shift();
      const pixels = this.#frameBuffer(size);
      this.#pending.read(pixels);
      this.emit('frame', { width: info.width, height: info.height, pixels, pts: info.pts, ptsTime: info.ptsTime, decodedTime: Date.now() });
    }
  }

  #outOfStep(): void {
    this.#remember('frame output and frame log out of step; stopping');
    this.#output?.reader.destroy();
    this.#process?.kill('SIGKILL');
  }

  #remember(line: string): void {
    this.#lastLog.push(line);
    if (this.#lastLog.length > LOG_LINES_KEPT) this.#lastLog.shift();
  }
}
