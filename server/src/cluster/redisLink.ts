import { createClient } from 'redis';
import { createLogger } from '../log.ts';

const log = createLogger('redis');

export type RedisClient = ReturnType<typeof createClient>;

/** The first connection must stand within this; later losses are retried for ever (calls go on without Redis). */
const CONNECT_TIMEOUT_MS = 10_000;
const RECONNECT_MAX_DELAY_MS = 2_000;

/** Delay before reconnection attempt `retries` (0-based): 100 ms doubling, at most 2 s, for ever. */
export function reconnectDelayMs(retries: number): number {
  return Math.min(100 * 2 ** Math.min(retries, 10), RECONNECT_MAX_DELAY_MS);
}

export interface RedisLink {
  /** For this service's own commands (streams, directory). Rejects at once while Redis is away. */
  readonly client: RedisClient;
  /** The same connection, for socket.io's Redis adapter (see adapterView). */
  readonly forAdapter: RedisClient;
  /** Whether Redis answers now. */
  readonly ready: boolean;
  /** Calls `listener(ready)` whenever Redis goes away or comes back. */
  onChange(listener: (ready: boolean) => void): void;
  close(): Promise<void>;
}

/**
 * One connection to Redis that survives Redis going away: commands fail at once instead of queueing
 * (disableOfflineQueue: nothing grows without bound while Redis is gone, and socket.io's adapter falls back
 * to local delivery when its XADD fails), and it reconnects with a capped backoff, for ever.
 */
export async function connectRedis(url: string): Promise<RedisLink> {
  const client: RedisClient = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2_000, reconnectStrategy: reconnectDelayMs },
  });
  let ready = false;
  const listeners = new Set<(ready: boolean) => void>();
  const setReady = (value: boolean) => {
    if (ready === value) return;
    ready = value;
    if (value) log.info('redis connected', { url: redactUrl(url) });
    else log.warn('redis connection lost; serving locally, reconnecting', { url: redactUrl(url) });
    for (const listener of listeners) listener(value);
  };
  // Without an 'error' listener node-redis throws; each failed reconnection emits one, so only changes are logged.
  client.on('error', () => setReady(false));
  client.on('ready', () => setReady(true));
  client.on('end', () => setReady(false));
  // connect() keeps retrying (reconnectStrategy) rather than failing: the wait is bounded here.
  const connecting = client.connect();
  connecting.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer')), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([connecting, timedOut]);
  } catch (error) {
    client.destroy();
    throw new Error(`cannot reach Redis at ${redactUrl(url)} within ${CONNECT_TIMEOUT_MS / 1000} s: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  setReady(true);
  return {
    client,
    forAdapter: adapterView(client),
    get ready() {
      return ready;
    },
    onChange(listener) {
      listeners.add(listener);
    },
    async close() {
      listeners.clear();
      client.destroy();
    },
  };
}

/**
 * The client as socket.io's Redis streams adapter should see it. The adapter fires some commands without
 * awaiting them (SET of a disconnected socket's session, PUBLISH of ephemeral messages): while Redis is away
 * those would reject unhandled and end the process, so here they are caught and logged. Its reading clients
 * (duplicates) keep an offline queue: each has at most one blocking XREAD outstanding, which waits for
 * Redis to come back instead of failing at once and being retried in a busy loop.
 */
function adapterView(client: RedisClient): RedisClient {
  const swallow = new Set(['set', 'SET', 'publish', 'PUBLISH', 'sPublish', 'SPUBLISH']);
  return new Proxy(client, {
    get(target, property) {
      if (property === 'duplicate') {
        return () => target.duplicate({ disableOfflineQueue: false });
      }
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      // node-redis keeps its state in private fields: its methods must run on the client itself, not this proxy.
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      if (typeof property !== 'string' || !swallow.has(property)) return bound;
      return (...args: unknown[]) =>
        (bound(...args) as Promise<unknown>).catch((error: Error) => {
          log.debug('adapter command failed (redis away?)', { command: property, error: error.message });
          return null;
        });
    },
  });
}

/** A Redis URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(unparseable)';
  }
}
