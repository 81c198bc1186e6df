/** What /healthz reports: degraded without a media worker, or when a capacity is nearly used up. */
export interface Health {
  status: 'ok' | 'degraded';
  /** The capacities at or above PRESSURE of their limit: new rooms, streams or subscribers may be refused. */
  pressure: string[];
}

/** A capacity this full is reported before it refuses anyone. */
const PRESSURE = 0.9;

export function healthOf(workers: number, usage: Record<string, { used: number; limit: number }>): Health {
  const pressure = Object.entries(usage)
    .filter(([, { used, limit }]) => used >= PRESSURE * limit)
    .map(([name]) => name);
  return { status: workers > 0 && pressure.length === 0 ? 'ok' : 'degraded', pressure };
}
