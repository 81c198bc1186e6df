/**
 * The One-Euro filter (Casiez, Roussel, Vogel, CHI 2012): a low-pass filter whose cutoff rises with
 * the signal's speed, so a still signal is smoothed hard (little jitter) and a moving one lightly
 * (little lag). Written as a pure step so per-track state is a plain value.
 */
export interface OneEuroParams {
  /** Cutoff while the signal is still, Hz. Lower: less jitter, more lag. */
  minCutoffHz: number;
  /** Cutoff added per unit/s of speed. Higher: less lag while the signal moves. */
  beta: number;
  /** Cutoff of the speed estimate itself, Hz. */
  derivativeCutoffHz: number;
}

export interface OneEuroState {
  /** The filtered value. */
  x: number;
  /** The filtered speed, units per second. */
  dx: number;
  tMs: number;
}

/**
 * Smoothing factor of a first-order low-pass with cutoff `cutoffHz` over a step of `dtS` seconds,
 * in the paper's form `1 / (1 + tau / dt)` so its published parameter values apply unchanged.
 */
export function lowPassAlpha(cutoffHz: number, dtS: number): number {
  const tau = 1 / (2 * Math.PI * cutoffHz);
  return 1 / (1 + tau / dtS);
}

/**
 * Filters sample `x` taken at `tMs`. The first sample passes through. A sample not later than the
 * previous one cannot be placed in time and leaves the state as it was.
 */
export function oneEuroStep(
  prev: OneEuroState | undefined,
  x: number,
  tMs: number,
  params: OneEuroParams,
): OneEuroState {
  if (!prev) return { x, dx: 0, tMs };
  const dtS = (tMs - prev.tMs) / 1000;
  if (!(dtS > 0)) return prev;
  const rawSpeed = (x - prev.x) / dtS;
  const dx = prev.dx + lowPassAlpha(params.derivativeCutoffHz, dtS) * (rawSpeed - prev.dx);
  const cutoff = params.minCutoffHz + params.beta * Math.abs(dx);
  return { x: prev.x + lowPassAlpha(cutoff, dtS) * (x - prev.x), dx, tMs };
}
