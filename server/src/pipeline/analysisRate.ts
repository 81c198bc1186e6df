/** How far back the rate looks: long enough to be steady at a few frames a second, short enough to show a change within seconds. */
const DEFAULT_WINDOW_MS = 2000;
/** Times kept at most: a bound even for a stream analysed far faster than any TAP_FPS allows. */
const MAX_TIMES = 256;

/**
 * Frames of one stream analysed per second, from the times of its last frames: what the stream actually gets,
 * which is below the tap's rate when the machine shares itself out among more streams than it can analyse fully.
 */
export class AnalysisRate {
  readonly #times: number[] = [];

  constructor(private readonly windowMs = DEFAULT_WINDOW_MS) {}

  /** Adds a frame analysed at `timeMs` and returns the rate over the window ending there (undefined until two frames). */
  add(timeMs: number): number | undefined {
    const times = this.#times;
    times.push(timeMs);
    while (times.length > MAX_TIMES || (times.length > 2 && timeMs - times[0]! > this.windowMs)) times.shift();
    const span = timeMs - times[0]!;
    return times.length >= 2 && span > 0 ? (times.length - 1) / (span / 1000) : undefined;
  }
}
