/**
 * The call's signaling protocol over socket.io: one schema per request, shared by server and client.
 * Every request is `socket.emit(name, payload, ack)`; every ack is an `Ack<T>`.
 * This file must stay free of Node-only imports: the browser bundle includes it.
 */
import { z } from 'zod';
import { RoomIdSchema } from './roomId.ts';
import type { Grants } from './tokens.ts';

export const SIGNALING_VERSION = 1;

/** Any request payload above this many bytes of JSON is refused before it is parsed further. */
export const MAX_REQUEST_BYTES = 64 * 1024;

const mediasoupId = z.string().min(1).max(64);
/** Opaque mediasoup structures (RTP parameters, DTLS parameters...): mediasoup validates their insides. */
const mediasoupObject = z.record(z.string(), z.unknown());

export const requestSchemas = {
  join: z.strictObject({
    roomId: RoomIdSchema,
    /** Needed without a participant token; with one, the token's name is used and this is ignored. */
    displayName: z.string().trim().min(1).max(200).optional(),
  }),
  createTransport: z.strictObject({ direction: z.enum(['send', 'recv']) }),
  connectTransport: z.strictObject({ transportId: mediasoupId, dtlsParameters: mediasoupObject }),
  produce: z.strictObject({
    transportId: mediasoupId,
    kind: z.enum(['audio', 'video']),
    rtpParameters: mediasoupObject,
  }),
  closeProducer: z.strictObject({ producerId: mediasoupId }),
  pauseProducer: z.strictObject({ producerId: mediasoupId }),
  resumeProducer: z.strictObject({ producerId: mediasoupId }),
  consume: z.strictObject({
    transportId: mediasoupId,
    producerId: mediasoupId,
    rtpCapabilities: mediasoupObject,
  }),
  pauseConsumer: z.strictObject({ consumerId: mediasoupId }),
  resumeConsumer: z.strictObject({ consumerId: mediasoupId }),
  leave: z.strictObject({}),
  /** A token for the affect stream of the room the peer is in (see ./affect-subscriber.ts). */
  affectToken: z.strictObject({}),
  /**
   * Consent: whether this participant's video is analysed. Off stops its analysis at once, and is never
   * refused; on needs the token's `analysed` grant (FORBIDDEN without) and comes at most once a second
   * (RATE_LIMITED: it starts a decoder). The room is told (`analysisChanged`).
   */
  setAnalysis: z.strictObject({ analysed: z.boolean() }),
} as const;

export type RequestName = keyof typeof requestSchemas;
export type RequestPayload<N extends RequestName> = z.infer<(typeof requestSchemas)[N]>;

export interface ProducerInfo {
  producerId: string;
  kind: 'audio' | 'video';
  paused: boolean;
}

export interface PeerInfo {
  peerId: string;
  displayName: string;
  /** Whether its video is being analysed (consent given, and the token grants it). */
  analysed: boolean;
  producers: ProducerInfo[];
}

export interface TransportInfo {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown;
  dtlsParameters: unknown;
}

export interface ConsumerInfo {
  consumerId: string;
  producerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  rtpParameters: unknown;
  producerPaused: boolean;
}

/** What each request's ack carries on success. */
export interface ResponseData {
  /**
   * `displayName`: as the others see it (a token's name wins); `grants`: what this participant may do;
   * `analysed`: whether its video is analysed from now on (ANALYSIS_DEFAULT, if the grant allows).
   */
  join: {
    peerId: string;
    roomId: string;
    displayName: string;
    analysed: boolean;
    routerRtpCapabilities: unknown;
    peers: PeerInfo[];
    grants: Grants;
  };
  createTransport: TransportInfo;
  connectTransport: Record<string, never>;
  produce: { producerId: string };
  closeProducer: Record<string, never>;
  pauseProducer: Record<string, never>;
  resumeProducer: Record<string, never>;
  consume: ConsumerInfo;
  pauseConsumer: Record<string, never>;
  resumeConsumer: Record<string, never>;
  leave: Record<string, never>;
  affectToken: { token: string; ttlSeconds: number };
  setAnalysis: { analysed: boolean };
}

export const ERROR_CODES = [
  'INVALID_REQUEST',
  'TOO_LARGE',
  'UNKNOWN_REQUEST',
  'NOT_JOINED',
  'ALREADY_JOINED',
  'NOT_FOUND',
  'LIMIT_EXCEEDED',
  'RATE_LIMITED',
  /** The participant's or subscriber's token does not grant it. */
  'FORBIDDEN',
  /** A fault of the server; the message says which request, nothing about the server's insides. */
  'INTERNAL',
  /**
   * Several nodes: the room lives on another node; `location` is its public URL. Connect there (the same
   * token) and join again.
   */
  'MOVED',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type Ack<T> = { ok: true; data: T } | { ok: false; error: { code: ErrorCode; message: string; location?: string } };

/** Events the server pushes to the peers of a room. */
export interface ServerEvents {
  peerJoined: { peerId: string; displayName: string; analysed: boolean };
  /** A participant (this one included) opted in to or out of analysis. */
  analysisChanged: { peerId: string; analysed: boolean };
  peerLeft: { peerId: string };
  newProducer: { peerId: string; producerId: string; kind: 'audio' | 'video' };
  consumerClosed: { consumerId: string };
  consumerPaused: { consumerId: string };
  consumerResumed: { consumerId: string };
  /**
   * The call ended for this peer: its media worker died or the server shuts down (join again to continue),
   * or `replaced`: the same identity joined the room again (another tab or device), which keeps the call.
   */
  roomClosed: { reason: 'worker-died' | 'server-shutdown' | 'replaced' };
}
export type ServerEventName = keyof ServerEvents;
