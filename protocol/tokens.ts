/**
 * The claims of the kinds of token the server accepts: JWTs signed with HS256 (RFC 7519) with the
 * server's TOKEN_SECRET, so any standard JWT library can mint them. `aud` says which kind a token is, so
 * one kind is never accepted as the other. Browser- and Node-safe (the call page reads its token's room).
 */
import { z } from 'zod';
import { RoomIdSchema } from './roomId.ts';

/** A participant token: who may join which call, and what they may do in it. */
export const PARTICIPANT_AUDIENCE = 'call';
/** A subscriber token: which affect stream a service (or a call's dashboard) may read. */
export const SUBSCRIBER_AUDIENCE = 'affect';
/** An ingest token: which room a service may add pulled video sources to (`/rooms/:room/sources`). */
export const INGEST_AUDIENCE = 'ingest';

const seconds = z.number().int().positive();
const peerId = z.string().min(1).max(64);

export const GrantsSchema = z.object({
  /** May join the room. */
  join: z.boolean().default(false),
  /** May send audio and video. */
  publish: z.boolean().default(false),
  /** May receive the room's affect events on its call socket, and get a subscriber token for the dashboard. */
  subscribeAffect: z.boolean().default(false),
  /** Its video is analysed (consent to facial analysis): without it, nothing is decoded or inferred from it. */
  analysed: z.boolean().default(false),
});
export type Grants = z.infer<typeof GrantsSchema>;

export const ParticipantClaimsSchema = z.object({
  aud: z.literal(PARTICIPANT_AUDIENCE),
  /** The participant's identity in the calling application. */
  sub: z.string().min(1).max(128),
  room: RoomIdSchema,
  /** Display name shown to the others; `sub` when absent. The join request cannot change it. */
  name: z.string().trim().min(1).max(200).optional(),
  /** Every grant not given is refused. */
  grants: GrantsSchema.default({ join: false, publish: false, subscribeAffect: false, analysed: false }),
  exp: seconds,
  nbf: seconds.optional(),
});
export type ParticipantClaims = z.infer<typeof ParticipantClaimsSchema>;

export const SubscriberClaimsSchema = z.object({
  aud: z.literal(SUBSCRIBER_AUDIENCE),
  room: RoomIdSchema,
  /** Only this participant's faces; the whole room's when absent. */
  peer: peerId.optional(),
  /**
   * Set on the tokens the server hands to call participants: the token lives only as long as that
   * participant (peer id) stays in the call, and its connections end when the participant leaves.
   */
  participant: peerId.optional(),
  exp: seconds,
  nbf: seconds.optional(),
});
export type SubscriberClaims = z.infer<typeof SubscriberClaimsSchema>;

export const IngestClaimsSchema = z.object({
  aud: z.literal(INGEST_AUDIENCE),
  /** The room whose sources it may add, list and remove. */
  room: RoomIdSchema,
  /** Who added a source (logged with it); optional. */
  sub: z.string().min(1).max(128).optional(),
  exp: seconds,
  nbf: seconds.optional(),
});
export type IngestClaims = z.infer<typeof IngestClaimsSchema>;

/**
 * The room a participant token is for, read without checking the signature (the server checks it): the
 * call page fills in its room field from the token it was opened with.
 */
export function unverifiedTokenRoom(token: string): string | undefined {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const room = RoomIdSchema.safeParse((JSON.parse(json) as { room?: unknown }).room);
    return room.success ? room.data : undefined;
  } catch {
    return undefined;
  }
}
