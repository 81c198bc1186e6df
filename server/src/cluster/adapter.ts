import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { RedisLink } from './redisLink.ts';

/** Redis key names of socket.io's adapter, apart from anything else in the same Redis. */
export const SOCKET_IO_STREAM = 'affect-call:socket.io';
const SESSION_KEY_PREFIX = 'affect-call:sio-session:';
/**
 * Broadcasts kept in the adapter's one stream (all rooms, both namespaces), trimmed approximately. A
 * subscriber's session is recovered on any node only while the packet it last saw is still in it: at 200
 * events/s this is ~50 s, more than the 30 s default recovery window.
 */
const SOCKET_IO_STREAM_MAX_LEN = 10_000;

/**
 * socket.io's Redis *streams* adapter: every broadcast is XADDed to one Redis stream that every node reads,
 * and a disconnected socket's session (its id, rooms, data) is stored in Redis, so connection-state recovery
 * works across nodes: a subscriber whose node died reconnects to another node and gets the packets it missed
 * from the stream (the pub/sub adapter, @socket.io/redis-adapter, does not support recovery at all).
 */
export function socketIoAdapter(redis: RedisLink): ReturnType<typeof createAdapter> {
  return createAdapter(redis.forAdapter, {
    streamName: SOCKET_IO_STREAM,
    sessionKeyPrefix: SESSION_KEY_PREFIX,
    channelPrefix: 'affect-call:socket.io',
    maxLen: SOCKET_IO_STREAM_MAX_LEN,
  });
}
