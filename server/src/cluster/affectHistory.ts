import type { AffectStreamEvent } from '../../../protocol/affect-event.ts';
import type { HistoryGap, HistoryLine } from '../../../protocol/affect-history.ts';
import { createLogger } from '../log.ts';
import type { ClusterMetrics } from './clusterMetrics.ts';
import { redisKeys } from './keys.ts';
import type { RedisLink } from './redisLink.ts';

const log = createLogger('history');

export interface HistoryOptions {
  /** Events kept per room, approximately (XADD MAXLEN ~). */
  maxEvents: number;
  /** Events older than this are trimmed (XTRIM MINID ~), checked at most every TRIM_INTERVAL_MS per room. */
  maxAgeMs: number;
}

export interface HistoryRange {
  since?: number;
  until?: number;
  /** Exclusive: entries after this id. */
  after?: string;
  peerId?: string;
  /** Event lines at most. */
  limit: number;
}

const FIELD = 'e';
const PAGE = 500;
const TRIM_INTERVAL_MS = 10_000;

/**
 * Every affect event of a room, also in a Redis stream (`XADD`), capped by count and age: the history a
 * subscriber on any node resumes from, and `GET /rooms/:room/affect` reads. An entry's id is the time it was
 * published, `<ms>-<n>`, so `since` means the same live and in the history.
 *
 * Appends are sent on the connection socket.io's adapter publishes on, before the event's broadcast: Redis
 * runs one connection's commands in order, so an event any node has received live is already in the stream
 * (a subscriber that joins its channel and then reads the history misses nothing).
 */
export class AffectHistory {
  /** Per room: the last id's ms (ids must grow), and when it was last trimmed by age. */
  readonly #rooms = new Map<string, { lastMs: number; trimmedAt: number }>();

  constructor(
    private readonly redis: RedisLink,
    private readonly options: HistoryOptions,
    private readonly metrics?: Pick<ClusterMetrics, 'historyWriteErrors'>,
  ) {}

  append(event: AffectStreamEvent, now = Date.now()): void {
    const key = redisKeys.affectStream(event.roomId);
    let room = this.#rooms.get(event.roomId);
    if (!room) this.#rooms.set(event.roomId, (room = { lastMs: 0, trimmedAt: 0 }));
    // An id below the stream's last (this clock stepped back, or the room moved from a node whose clock runs
    // ahead) is refused by Redis; the same ms again is fine (`<ms>-*` takes the next n).
    room.lastMs = Math.max(room.lastMs, now);
    const fields = { [FIELD]: JSON.stringify(event) };
    const trim = { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: this.options.maxEvents } } as const;
    this.redis.client.xAdd(key, `${room.lastMs}-*`, fields, trim).catch((error: Error) => {
      if (/equal or smaller/.test(error.message)) {
        // Redis's own clock then: the history stays in order, at the cost of `since` being off by the skew.
        return this.redis.client.xAdd(key, '*', fields, trim);
      }
      throw error;
    }).catch((error: Error) => {
      this.metrics?.historyWriteErrors.inc();
      log.debug('event not kept in the history', { roomId: event.roomId, error: error.message });
    });
    if (now - room.trimmedAt >= TRIM_INTERVAL_MS) {
      room.trimmedAt = now;
      // Trimming by age happens only as events come; the expiry removes the stream of a room that ended,
      // once its newest event is older than the age limit.
      this.redis.client
        .multi()
        .xTrim(key, 'MINID', now - this.options.maxAgeMs, { strategyModifier: '~' })
        .pExpire(key, this.options.maxAgeMs + TRIM_INTERVAL_MS)
        .exec()
        .catch(() => {});
    }
  }

  /** A room closed on this node: its history stays (capped and aged), only what this node kept about it goes. */
  forgetRoom(roomId: string): void {
    this.#rooms.delete(roomId);
  }

  /**
   * A room's history in order, paged from Redis, with a `gap` line before an event whose stream skipped
   * numbers, and an `end` line last. Throws when Redis cannot be read.
   */
  async *read(roomId: string, range: HistoryRange): AsyncGenerator<HistoryLine> {
    const key = redisKeys.affectStream(roomId);
    let start = range.after !== undefined ? `(${range.after}` : range.since !== undefined ? `${range.since}` : '-';
    const end = range.until !== undefined ? `${range.until}` : '+';
    const gaps = new GapFinder();
    let events = 0;
    let next: string | null = null;
    for (;;) {
      const entries = await this.redis.client.xRange(key, start, end, { COUNT: PAGE });
      for (const entry of entries) {
        next = entry.id;
        const event = parseEntry(entry.message[FIELD]);
        if (!event || (range.peerId !== undefined && event.peerId !== range.peerId)) continue;
        const gap = gaps.check(event);
        if (gap) yield gap;
        yield event;
        events += 1;
        if (events >= range.limit) {
          yield { type: 'end', events, truncated: true, next };
          return;
        }
      }
      if (entries.length < PAGE) break;
      start = `(${entries.at(-1)!.id}`;
    }
    yield { type: 'end', events, truncated: false, next };
  }
}

/** An event as stored; one that does not parse (written by another version, or not by us) is skipped. */
function parseEntry(json: string | undefined): AffectStreamEvent | undefined {
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json) as AffectStreamEvent;
  } catch {
    return undefined;
  }
}

/**
 * Sequence numbers run on per stream (producer) without a hole, over every node and restart (a stream lives
 * on one node; a new one after a move is a new producer, numbered from 0): a jump within what is read is
 * events that are not there, said explicitly. The first event of a stream in a range is not compared with
 * anything: the range may just start there.
 */
export class GapFinder {
  readonly #next = new Map<string, number>();

  check(event: AffectStreamEvent): HistoryGap | undefined {
    const expected = this.#next.get(event.producerId);
    this.#next.set(event.producerId, Math.max(expected ?? 0, event.seq + 1));
    if (expected === undefined || event.seq <= expected) return undefined;
    const { roomId, peerId, producerId } = event;
    return { type: 'gap', roomId, peerId, producerId, fromSeq: expected, toSeq: event.seq };
  }
}
