import v8 from 'node:v8';

/**
 * V8's heap sized for a batch run rather than for a server's footprint. An analysis keeps little alive (~13 MB of
 * heap) but allocates fast, and with V8's default heap growth `bench:analyse` saw a full mark-compact every
 * 50-100 ms (about 55 over 750 frames, ~2 ms of collector CPU per frame on V8's helper threads, a fifth of the
 * run's CPU). Letting the old generation grow to 5x its live size before it is collected leaves 3-8 such collections
 * for ~20 MB more resident memory. Process-wide, so it is for the CLI's process (and its benchmark), not the server's.
 */
export function heapForThroughput(): void {
  v8.setFlagsFromString('--heap-growing-percent=400');
}
