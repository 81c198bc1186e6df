/**
 * How long a decoder's frames (a tapped stream's, a pulled source's) have been stale without a break: a decoder that
 * falls behind for a moment (starved of CPU, then working through its backlog) soon delivers fresh frames again, and
 * only one whose frames stay stale for `restartAfterMs` is behind for good and worth a restart.
 */
export class StaleRun {
  #since: number | undefined;

  constructor(private readonly restartAfterMs: number) {}

  /** Records one decoded frame; true when it is stale and the run of stale frames it ends has lasted long enough. */
  add(decodedTime: number, stale: boolean): boolean {
    if (!stale) {
      this.#since = undefined;
      return false;
    }
    this.#since ??= decodedTime;
    return decodedTime - this.#since >= this.restartAfterMs;
  }

  /** A new decoder: nothing behind it yet. */
  reset(): void {
    this.#since = undefined;
  }
}
