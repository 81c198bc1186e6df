import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** One decoded frame of a recorded source. */
export interface SourceFrame {
  /** Counts the frames delivered, from 0. */
  index: number;
  /** Packed RGB24, `width * height * 3` bytes. */
  pixels: Uint8Array;
  /** The frame's time in the source, ms from its start (from `startMs` on when a start was given). */
  sourceTimeMs: number;
}

export interface DecodeVideoOptions {
  input: string;
  /** Size to decode to (the probed display size, maybe scaled down), px. */
  width: number;
  height: number;
  /** Frames per second to take (ffmpeg's fps filter), or every frame at its own time. */
  fps: number | 'all';
  startMs?: number;
  durationMs?: number;
  /** The decoder is stopped, and the decode fails, when it delivers no byte for this long. Default 60 s. */
  stallTimeoutMs?: number;
  /** Where each frame is decoded into, `width * height * 3` bytes (a pool's buffer); default: a new array per frame. */
  frameBuffer?: () => Uint8Array;
}

/** How decoding ended: ffmpeg's exit and the errors it reported (damaged or cut-off data shows up here). */
export interface DecodeEnd {
  exitCode: number | null;
  /** ffmpeg's error lines, the first few. */
  errors: string[];
  /** Bytes of a last frame that never completed. */
  leftoverBytes: number;
  stalled: boolean;
}

const MAX_ERRORS = 8;
const PTS_TIME = /\bpts_time:(-?[\d.]+)/;

/**
 * A recorded video decoded once by native ffmpeg into RGB frames on a pipe, each with its time in the source (from
 * ffmpeg's showinfo filter, so variable frame rates keep their true times). Pull-based: ffmpeg's output is read only
 * as frames are taken, so a slow consumer pauses the decoder rather than buffering frames. `end` settles once the
 * frames are all taken (or `stop` was called).
 */
export class VideoDecoder {
  readonly end: Promise<DecodeEnd>;
  readonly #frames: AsyncGenerator<SourceFrame>;
  readonly #child;
  #stalled = false;

  constructor(options: DecodeVideoOptions) {
    const { input, width, height, fps, startMs, durationMs } = options;
    const filters = [...(fps === 'all' ? [] : [`fps=${fps}`]), `scale=${width}:${height}`, 'showinfo=checksum=0'];
    this.#child = spawn(
      'ffmpeg',
      [
        ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'repeat+level+info'],
        ...(startMs ? ['-ss', (startMs / 1000).toFixed(3)] : []),
        ...(durationMs !== undefined ? ['-t', (durationMs / 1000).toFixed(3)] : []),
        ...['-i', input, '-map', '0:v:0', '-an', '-sn', '-dn', '-vf', filters.join(',')],
        ...(fps === 'all' ? ['-fps_mode', 'passthrough'] : []),
        ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const child = this.#child;
    const errors: string[] = [];
    const times: number[] = [];
    let timeWaiter: (() => void) | undefined;
    let stderrDone = false;
    const lines = createInterface({ input: child.stderr });
    lines.on('line', (line) => {
      const pts = line.includes('showinfo') ? PTS_TIME.exec(line) : null;
      if (pts) {
        times.push(Number(pts[1]) * 1000);
        timeWaiter?.();
      } else if (/\[(error|fatal|panic)\]/.test(line) && errors.length < MAX_ERRORS) {
        errors.push(line.replace(/^\[[^\]]*@ 0x[0-9a-f]+\] /, '').replace(/\[(error|fatal|panic)\] /, '').trim());
      }
    });
    const stderrClosed = once(lines, 'close').then(() => {
      stderrDone = true;
      timeWaiter?.();
    });
    const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    const nextTime = async (): Promise<number | undefined> => {
      while (times.length === 0 && !stderrDone) await new Promise<void>((resolve) => (timeWaiter = resolve));
      timeWaiter = undefined;
      return times.shift();
    };

    const bytes = width * height * 3;
    const frameBuffer = options.frameBuffer ?? (() => new Uint8Array(bytes));
    const stallMs = options.stallTimeoutMs ?? 60_000;
    let leftover = 0;
    const self = this;
    this.#frames = (async function* () {
      let stallTimer: NodeJS.Timeout | undefined;
      const watch = () => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          self.#stalled = true;
          child.kill('SIGKILL');
        }, stallMs);
      };
      try {
        let pixels = frameBuffer();
        let filled = 0;
        let index = 0;
        let lastMs = (startMs ?? 0) - 1;
        watch();
        for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
          for (let offset = 0; offset < chunk.length; ) {
            const n = Math.min(bytes - filled, chunk.length - offset);
            pixels.set(chunk.subarray(offset, offset + n), filled);
            filled += n;
            offset += n;
            if (filled < bytes) continue;
            const pts = await nextTime();
            // Without a time (not expected), the frame is put just after the one before.
            const sourceTimeMs = pts === undefined ? lastMs + 1 : (startMs ?? 0) + pts;
            lastMs = sourceTimeMs;
            clearTimeout(stallTimer);
            yield { index: index++, pixels, sourceTimeMs };
            watch();
            pixels = frameBuffer();
            filled = 0;
          }
        }
        leftover = filled;
      } finally {
        clearTimeout(stallTimer);
        // Taken no further (stopped early, or the consumer failed): the decoder is not left running.
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    })();

    this.end = (async () => {
      const [[exitCode]] = await Promise.all([exited, stderrClosed]);
      return { exitCode, errors, leftoverBytes: leftover, stalled: this.#stalled };
    })();
  }

  frames(): AsyncGenerator<SourceFrame> {
    return this.#frames;
  }

  /** Stops decoding; `frames()` ends and `end` settles. */
  stop(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}
