/** What /healthz reports: degraded without a media worker, when a capacity is nearly used up, or when the analysis or the decoding cannot keep up. */
export interface Health {
  status: 'ok' | 'degraded';
  /**
   * The capacities at or above PRESSURE of their limit (new rooms, streams or subscribers may be refused), and
   * `analysis` while streams are analysed below their rate because the machine cannot keep up, and `decoding` while more
   * than a quarter of the decoders run behind (their stale frames are dropped unanalysed: the host is short of CPU
   * before the analysis even starts).
   */
  pressure: string[];
}

/** A capacity this full is reported before it refuses anyone. */
const PRESSURE = 0.9;

export function healthOf(workers: number, usage: Record<string, { used: number; limit: number }>, overloaded: string[] = []): Health {
  const pressure = [
    ...Object.entries(usage)
      .filter(([, { used, limit }]) => used >= PRESSURE * limit)
      .map(([name]) => name),
    ...overloaded,
  ];
  return { status: workers > 0 && pressure.length === 0 ? 'ok' : 'degraded', pressure };
}
