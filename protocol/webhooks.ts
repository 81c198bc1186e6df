/**
 * Webhooks (WEBHOOK_URLS): what a backend integrating this service receives, as LiveKit's webhooks do.
 * Each is a POST with a JSON body (`WebhookPayload`) and three headers, after the Standard Webhooks
 * convention: `webhook-id` (the delivery's id: the same on every retry, for de-duplication),
 * `webhook-timestamp` (seconds since the epoch, when this attempt was signed) and `webhook-signature`
 * (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" with WEBHOOK_SECRET>`). Verify with
 * server/src/webhooks/signature.ts (examples/webhook-receiver.ts shows how).
 */
import { z } from 'zod';
import { RoomIdSchema } from './roomId.ts';

export const WEBHOOK_HEADERS = { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' } as const;

export const WEBHOOK_EVENTS = [
  'room_started',
  'room_finished',
  'participant_joined',
  'participant_left',
  'analysis_started',
  'analysis_stopped',
  'affect',
] as const;

const ParticipantSchema = z.strictObject({ peerId: z.string().min(1).max(64), displayName: z.string().min(1).max(200) });

/** One face's state in an `affect` webhook: its latest event, sent when it changed enough since the last one sent. */
export const AffectSummarySchema = z.strictObject({
  peerId: z.string().min(1).max(64),
  producerId: z.string().min(1).max(64),
  faceId: z.int().nonnegative(),
  /** The frame's arrival at the server (ms since the epoch). */
  time: z.number(),
  valence: z.number().min(-1).max(1),
  arousal: z.number().min(-1).max(1),
  expression: z.string().min(1).max(64),
  /** False: the face's track ended (`face-lost`); its last values are repeated. */
  present: z.boolean(),
});
export type AffectSummary = z.infer<typeof AffectSummarySchema>;

export const WebhookPayloadSchema = z.strictObject({
  /** The delivery's id, also in the `webhook-id` header. */
  id: z.string().min(1).max(64),
  event: z.enum(WEBHOOK_EVENTS),
  /** When it happened, ms since the epoch (the server's clock). */
  createdAt: z.number(),
  roomId: RoomIdSchema,
  /** participant_* and analysis_*: who. */
  participant: ParticipantSchema.optional(),
  /** affect: the faces that changed since the room's last affect webhook. */
  faces: z.array(AffectSummarySchema).max(1000).optional(),
});
export type WebhookPayload = z.infer<typeof WebhookPayloadSchema>;
export type WebhookEvent = WebhookPayload['event'];
