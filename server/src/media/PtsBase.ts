const TWO_POW_32 = 2 ** 32;
/**
 * Frames forwarded to a new decoder that may be the one it counts from. A decoder started on a loaded
 * machine was seen to count from up to ~15 frames after the first one it was sent.
 */
const MAX_CANDIDATES = 32;
/** Decoded pts values used to tell the candidates apart. */
const MAX_SAMPLES = 6;

/**
 * Works out which RTP timestamp a decoder counts its pts from (pts = RTP timestamp - base).
 *
 * ffmpeg's base is the timestamp of the first frame its depacketizer outputs, which depends on its
 * sequence checks and on where in a frame it joined; rather than mirror those rules, this matches
 * the decoder's pts against what was forwarded. Every early frame is a candidate base; a candidate
 * stays while `candidate + pts` is a timestamp that arrived, for each pts decoded so far. A real
 * camera's frame intervals jitter, and the relay marks timestamps (markedTimestamp) so that even regular
 * ones do not line up, so after a few frames one candidate is left. Should several stay, the first frame
 * whose start was forwarded (what a depacketizer joining mid-frame would begin with) decides.
 */
export class PtsBase {
  readonly #candidates: number[] = [];
  #firstFrameStart?: number;
  readonly #samples: number[] = [];
  #resolved?: number;

  /** Whether forwarded packets still matter: until the candidates and the first frame start are known. */
  get collecting(): boolean {
    return this.#candidates.length < MAX_CANDIDATES || this.#firstFrameStart === undefined;
  }

  /** A packet went to the decoder. */
  forwarded(timestamp: number, startsFrame: boolean): void {
    if (this.#candidates.length < MAX_CANDIDATES && this.#candidates.at(-1) !== timestamp) {
      this.#candidates.push(timestamp);
    }
    if (startsFrame) this.#firstFrameStart ??= timestamp;
  }

  /** The RTP timestamp of a decoded frame, if it can be told; `arrived` says which timestamps came in. */
  timestampOf(pts: number, arrived: (timestamp: number) => boolean): number | undefined {
    const base = this.#base(pts, arrived);
    return base === undefined ? undefined : (base + pts) % TWO_POW_32;
  }

  #base(pts: number, arrived: (timestamp: number) => boolean): number | undefined {
    if (this.#resolved !== undefined) return this.#resolved;
    if (this.#samples.length < MAX_SAMPLES) this.#samples.push(pts);
    const consistent = this.#candidates.filter((base) =>
      this.#samples.every((sample) => arrived((base + sample) % TWO_POW_32)),
    );
    if (consistent.length === 1 && this.#samples.length > 1) this.#resolved = consistent[0];
    if (this.#firstFrameStart !== undefined && consistent.includes(this.#firstFrameStart)) return this.#firstFrameStart;
    return consistent[0];
  }
}
