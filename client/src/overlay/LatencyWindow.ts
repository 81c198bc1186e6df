/** The most recent latency samples of one tile, summarised as percentiles. */
export class LatencyWindow {
  readonly #samples: number[] = [];

  constructor(private readonly size = 100) {}

  add(ms: number): void {
    this.#samples.push(ms);
    if (this.#samples.length > this.size) this.#samples.shift();
  }

  get count(): number {
    return this.#samples.length;
  }

  /** The q-quantile (0..1) of the window, nearest rank; NaN while empty. */
  quantile(q: number): number {
    if (this.#samples.length === 0) return Number.NaN;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  }
}
