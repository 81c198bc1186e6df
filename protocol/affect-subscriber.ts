/**
 * The subscriber side of the affect stream: the `/affect` socket.io namespace that other services
 * (dashboards, recorders, analytics) connect to with a signed subscriber token (./tokens.ts).
 * Browser- and Node-safe.
 *
 * Connect with `io(`${url}/affect`, { auth: { token } })`, then `emit('subscribe', { roomId, peerId? }, ack)`.
 * Events arrive as `affect` messages carrying an `AffectStreamEvent` (./affect-event.ts).
 */
import { z } from 'zod';
import type { AffectStreamEvent } from './affect-event.ts';
import type { HistoryGap } from './affect-history.ts';
import { RoomIdSchema } from './roomId.ts';

export const AFFECT_NAMESPACE = '/affect';
/** The event name of affect stream messages, on the subscriber namespace and on call sockets alike. */
export const AFFECT_EVENT = 'affect';

export const SubscriptionSchema = z.strictObject({
  roomId: RoomIdSchema,
  /** Only this participant's faces; all of the room's when absent. */
  peerId: z.string().min(1).max(64).optional(),
  /**
   * Several nodes (REDIS_URL) only: also the events published since this time (ms since the epoch, the
   * server's clock; an event's `emitTime` is a safe value), from the room's durable history, in the ack.
   * Ignored by a single node and by `unsubscribe`.
   */
  since: z.int().nonnegative().max(8.64e15).optional(),
});
export type Subscription = z.infer<typeof SubscriptionSchema>;

/**
 * The ack of `subscribe`: with `since`, the history up to the moment the subscription started (events and
 * explicit gaps, at most the server's limit: `truncated` then, and `GET /rooms/<room>/affect` has the rest).
 * Live events follow; one also in the history may arrive before the ack, and is the same event.
 */
export interface SubscribeResult {
  history?: (AffectStreamEvent | HistoryGap)[];
  truncated?: boolean;
}

/**
 * Who the events are about: on `subscribe`, one `participant` message per participant the subscription
 * covers (its one peer, or every peer of the room), then one whenever a participant joins, leaves
 * (`present: false`) or opts in to or out of analysis. Display names come only this way: events carry ids.
 */
export const PARTICIPANT_EVENT = 'participant';

export const ParticipantUpdateSchema = z.strictObject({
  roomId: RoomIdSchema,
  peerId: z.string().min(1).max(64),
  displayName: z.string().min(1).max(200),
  /** Whether its video is being analysed (its consent, within its token's grant). */
  analysed: z.boolean(),
  /** False: it has left the room. */
  present: z.boolean(),
});
export type ParticipantUpdate = z.infer<typeof ParticipantUpdateSchema>;

export const subscriberRequestSchemas = {
  subscribe: SubscriptionSchema,
  unsubscribe: SubscriptionSchema,
} as const;
export type SubscriberRequestName = keyof typeof subscriberRequestSchemas;
