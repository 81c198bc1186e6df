/**
 * Pulled sources (`/rooms/:room/sources`): video the server fetches itself with ffmpeg (an IP camera's RTSP,
 * a media server's RTMP or SRT, an HLS playlist or MP4 over HTTP) and analyses as a participant of the room.
 * Each needs an ingest token (protocol/tokens.ts) for the room. Browser- and Node-safe.
 */
import { z } from 'zod';

export const SOURCE_STATES = [
  /** Its first connection is being made. */
  'connecting',
  /** Frames are arriving and analysed. */
  'live',
  /** Its ffmpeg ended, stalled, fell behind or could not connect: it tries again after a back-off. */
  'reconnecting',
  /** Given up after too many attempts in a row without a frame; it stays listed, holding nothing, until deleted. */
  'failed',
] as const;
export type SourceState = (typeof SOURCE_STATES)[number];

export const MAX_SOURCE_NAME_LENGTH = 200;
/** The largest request body the endpoint reads. */
export const MAX_SOURCE_REQUEST_BYTES = 4096;

export const CreateSourceRequestSchema = z.strictObject({
  /** rtsp, rtsps, rtmp, rtmps, srt, http or https; its host must resolve to public addresses unless an operator allows others. */
  url: z.string().min(1).max(2048),
  /** What the room's participants see as its name. */
  name: z.string().trim().min(1).max(MAX_SOURCE_NAME_LENGTH),
});
export type CreateSourceRequest = z.infer<typeof CreateSourceRequestSchema>;

export const SourceInfoSchema = z.strictObject({
  id: z.string(),
  roomId: z.string(),
  /** The participant the source is in the room, as its events and the call page's gallery name it. */
  peerId: z.string(),
  name: z.string(),
  /** The URL as given, its user and password left out. */
  url: z.string(),
  state: z.enum(SOURCE_STATES),
  /** Connections made (the first included). */
  connections: z.number().int().nonnegative(),
  framesDelivered: z.number().int().nonnegative(),
  /** Why it last failed, when it did. */
  lastError: z.string().optional(),
  /** ms since the epoch. */
  createdAt: z.number(),
});
export type SourceInfo = z.infer<typeof SourceInfoSchema>;

/** Every 4xx and 5xx of the endpoint: what was wrong, in words. */
export const SourceErrorSchema = z.strictObject({ error: z.string() });
