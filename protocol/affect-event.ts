/**
 * Events of the affect stream, sent by the server to the room and to subscribers, shared by server
 * and browser client. This file must stay free of Node-only imports: the browser bundle includes it.
 *
 * Versioning: objects are parsed leniently (unknown fields are dropped, not refused), so adding an
 * optional field keeps `v` and old clients working. `v` changes when a field's meaning or presence
 * does, so a client can tell what it reads; a client that parses with another version's schema
 * refuses every event (see docs/client.md, "Event versions").
 *
 * v2: `arrivalTime` names what v1 called `captureTime` (the server's clock at RTP arrival, not the
 * camera's); `captureTime` stays, equal to it, until v3. A face-lost `time` is when the face was
 * last seen, no longer when the tracker gave it up.
 */
import { z } from 'zod';
import { RoomIdSchema } from './roomId.ts';

export const AFFECT_EVENT_VERSION = 2;

/** Most expression labels or AUs one event may carry; real models have 7-8 and 12-20. */
export const MAX_LABELS = 64;
/** How far rounding may move a sum of probabilities (or a box edge) away from 1. */
const TOLERANCE = 1e-3;

const id = z.string().min(1).max(64);
const unit = z.number().min(0).max(1);
const signedUnit = z.number().min(-1).max(1);
/** Wall-clock ms since the Unix epoch. */
const time = z.number().nonnegative();
const labelled = <T extends z.ZodType>(value: T) =>
  z
    .record(z.string().min(1).max(64), value)
    .refine((r) => Object.keys(r).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`);

/**
 * Identifies one face in one stream. `seq` counts every event (affect or face-lost) of the stream
 * (producer) by one, so a subscriber sees gaps; `faceId` is stable while the face is tracked.
 */
const faceInStream = {
  v: z.literal(AFFECT_EVENT_VERSION),
  seq: z.int().nonnegative(),
  roomId: RoomIdSchema,
  peerId: id,
  /** The video stream: a mediasoup producer's id, or a pulled source's (protocol/sources.ts). */
  producerId: id,
  faceId: z.int().nonnegative(),
  /**
   * Only in the analysis of a recorded file (`npm run analyse`): the frame's time in the source, ms from its
   * start (a face-lost event: the time it was last seen). The wall-clock times then count from the analysis start.
   */
  sourceTime: z.number().nonnegative().optional(),
};

/** Face box as fractions of the frame's width and height, clipped to the frame. */
export const NormalisedBoxSchema = z
  .object({ x: unit, y: unit, w: unit, h: unit })
  .refine((b) => b.x + b.w <= 1 + TOLERANCE && b.y + b.h <= 1 + TOLERANCE, 'box must lie inside the frame');

export const ExpressionSchema = z
  .object({
    /** The most probable label after smoothing. */
    label: z.string().min(1),
    /** Probability per label (the model's labels, not fixed here); they sum to 1. */
    probs: labelled(unit),
  })
  .refine((e) => Object.hasOwn(e.probs, e.label), { path: ['label'], message: 'label must be a key of probs' })
  .refine((e) => Math.abs(Object.values(e.probs).reduce((a, b) => a + b, 0) - 1) <= TOLERANCE, {
    path: ['probs'],
    message: 'probabilities must sum to 1',
  });

export const AffectEventSchema = z.object({
  type: z.literal('affect'),
  ...faceInStream,
  /**
   * When the frame's RTP arrived at the server, by the server's clock (its decode time in the rare case
   * the arrival is unknown). The sender's camera captured it earlier by its encoding and network delay.
   */
  arrivalTime: time,
  /** @deprecated Same value as `arrivalTime`, despite its name; removed in v3. */
  captureTime: time,
  /** When the server emitted this event. */
  emitTime: time,
  /** Size of the analysed frame, px. */
  frame: z.object({ width: z.int().positive(), height: z.int().positive() }),
  box: NormalisedBoxSchema,
  detScore: unit,
  valence: signedUnit,
  arousal: signedUnit,
  expression: ExpressionSchema,
  /** Per action unit (names from the model, e.g. AU12): smoothed probability and activation. */
  aus: labelled(z.object({ p: unit, active: z.boolean() })),
  model: z.object({ name: z.string().min(1).max(64), version: z.string().min(1).max(64) }),
  /**
   * Frames of this stream analysed per second over the last ~2 s: the tap's rate (TAP_FPS, or the sender's if
   * lower) while the server keeps up, less when it shares itself out evenly among more streams than it can
   * analyse fully. Absent on a stream's first analysed frame, and in events of servers before it was added.
   */
  analysisFps: z.number().nonnegative().max(1000).optional(),
});

/** The face's track ended: no more affect events for this `faceId`. */
export const FaceLostEventSchema = z.object({
  type: z.literal('face-lost'),
  ...faceInStream,
  /**
   * When the face was last seen: the `arrivalTime` of its last affect event. The event itself comes
   * later: when the tracker gives the face up (`TRACK_MAX_MISS_MS` unseen) or the stream ends.
   */
  time,
});

export const AffectStreamEventSchema = z.discriminatedUnion('type', [AffectEventSchema, FaceLostEventSchema]);

export type NormalisedBox = z.infer<typeof NormalisedBoxSchema>;
export type AffectEvent = z.infer<typeof AffectEventSchema>;
export type FaceLostEvent = z.infer<typeof FaceLostEventSchema>;
export type AffectStreamEvent = z.infer<typeof AffectStreamEventSchema>;
