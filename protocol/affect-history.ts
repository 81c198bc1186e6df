/**
 * The durable side of the affect stream (several nodes, REDIS_URL): a room's events kept in Redis, read as
 * JSON Lines from `GET /rooms/<room>/affect?since=&until=&after=&peer=&limit=` with a subscriber token
 * (`Authorization: Bearer <token>`), or replayed on `subscribe` with `since`. Browser- and Node-safe.
 *
 * Each line is an affect stream event (./affect-event.ts) exactly as it was sent live, a `gap` where a
 * stream's sequence numbers jump (events trimmed, or written while Redis was away), and one `end` line last.
 */
import { z } from 'zod';
import { AffectStreamEventSchema } from './affect-event.ts';
import { RoomIdSchema } from './roomId.ts';

export const historyPath = (roomId: string) => `/rooms/${encodeURIComponent(roomId)}/affect`;
export const HISTORY_CONTENT_TYPE = 'application/x-ndjson';

/** ms since the epoch, as query text. */
const msParam = z.coerce.number().int().nonnegative().max(8.64e15);
/** A Redis stream entry id: `<ms>-<n>`. */
export const EntryIdSchema = z.string().regex(/^\d{1,16}-\d{1,16}$/);

export const HistoryQuerySchema = z.strictObject({
  /** Events published at or after this time (ms since the epoch, the server's clock). */
  since: msParam.optional(),
  /** ... and at or before this one. */
  until: msParam.optional(),
  /** Events after this entry (the `next` of an earlier answer's `end` line): for paging. */
  after: EntryIdSchema.optional(),
  /** Only this participant's faces (a peer-scoped token allows no other). */
  peer: z.string().min(1).max(64).optional(),
  /** Event lines at most; the server's own limit when absent or larger. */
  limit: z.coerce.number().int().positive().optional(),
});
export type HistoryQuery = z.infer<typeof HistoryQuerySchema>;

/** Sequence numbers `fromSeq` up to (not including) `toSeq` of this stream are not in the history. */
export const HistoryGapSchema = z.strictObject({
  type: z.literal('gap'),
  roomId: RoomIdSchema,
  peerId: z.string().min(1).max(64),
  producerId: z.string().min(1).max(64),
  fromSeq: z.int().nonnegative(),
  toSeq: z.int().positive(),
});
export type HistoryGap = z.infer<typeof HistoryGapSchema>;

export const HistoryEndSchema = z.strictObject({
  type: z.literal('end'),
  /** Event lines sent. */
  events: z.int().nonnegative(),
  /** The limit was reached: ask again with `after: next` for the rest. */
  truncated: z.boolean(),
  /** The last entry read (null: none), to continue from. */
  next: EntryIdSchema.nullable(),
});
export type HistoryEnd = z.infer<typeof HistoryEndSchema>;

export const HistoryLineSchema = z.union([AffectStreamEventSchema, HistoryGapSchema, HistoryEndSchema]);
export type HistoryLine = z.infer<typeof HistoryLineSchema>;
