/**
 * The decoders of one process (the frame taps' and the pulled sources'), and which of them are behind now. A
 * decoder behind on its own (stopped for a while, stuck on a backlog) is worth restarting past its backlog. When
 * many are behind together the host is short of CPU, and restarts (a process start and a keyframe each) only deepen
 * that: 32 replayed streams that started together fell behind, were restarted over and over and stayed 3-6 s behind
 * for good, where without restarts every one of them caught up within seconds of the start-up burst.
 */
export class LaggingDecoders {
  readonly #members = new Set<StaleRun>();
  readonly #behind = new Set<StaleRun>();

  /** @param maxShareBehind restarts are allowed while at most this share of the decoders (and at least one) is behind */
  constructor(private readonly maxShareBehind = 0.25) {}

  get behind(): number {
    return this.#behind.size;
  }

  /** Whether few enough decoders are behind that one that stays behind is stuck, not starved. */
  get fewBehind(): boolean {
    return this.#behind.size <= Math.max(1, Math.floor(this.#members.size * this.maxShareBehind));
  }

  join(run: StaleRun): void {
    this.#members.add(run);
  }

  leave(run: StaleRun): void {
    this.#members.delete(run);
    this.#behind.delete(run);
  }

  mark(run: StaleRun, behind: boolean): void {
    if (behind) this.#behind.add(run);
    else this.#behind.delete(run);
  }
}

/**
 * How long a decoder's frames (a tapped stream's, a pulled source's) have been stale without a break: a decoder that
 * falls behind for a moment (starved of CPU, then working through its backlog) soon delivers fresh frames again, and
 * only one whose frames stay stale for `restartAfterMs`, while most others keep up, is behind for good and worth a
 * restart.
 */
export class StaleRun {
  #since: number | undefined;

  constructor(
    private readonly restartAfterMs: number,
    private readonly group: LaggingDecoders,
  ) {
    group.join(this);
  }

  /** Records one decoded frame; true when it is stale, the run of stale frames it ends has lasted long enough, and few other decoders are behind. */
  add(decodedTime: number, stale: boolean): boolean {
    this.group.mark(this, stale);
    if (!stale) {
      this.#since = undefined;
      return false;
    }
    this.#since ??= decodedTime;
    return decodedTime - this.#since >= this.restartAfterMs && this.group.fewBehind;
  }

  /** A new decoder: nothing behind it yet. */
  reset(): void {
    this.#since = undefined;
    this.group.mark(this, false);
  }

  /** The decoder is gone for good (its stream closed). */
  close(): void {
    this.group.leave(this);
  }
}
