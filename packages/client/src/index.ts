/**
 * What a service needs to consume the affect service, for browsers and Node: the subscriber to the live event
 * stream, the event, history, subscriber and webhook types with their zod schemas, and a history reader. The webhook
 * signature check (Node only) is `@affect-call/client/webhooks`. Built from the service's own sources, not a copy.
 */
export { AffectSubscriber, type AffectSubscriberOptions, type RejectedEvent } from '../../../client/src/AffectSubscriber.ts';
export * from '../../../protocol/affect-event.ts';
export * from '../../../protocol/affect-history.ts';
export * from '../../../protocol/affect-subscriber.ts';
export * from '../../../protocol/webhooks.ts';
export { RoomIdSchema } from '../../../protocol/roomId.ts';
export { fetchHistory, readHistory, HistoryLineError, type FetchHistoryOptions } from './readHistory.ts';
