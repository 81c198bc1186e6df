import { AFFECT_EVENT_VERSION, type AffectEvent, type AffectStreamEvent, type FaceLostEvent } from '../../../protocol/affect-event.ts';
import type { AnalysedFrame } from '../pipeline/analyseStream.ts';
import type { Box } from '../vision/types.ts';

export interface StreamIds {
  roomId: string;
  peerId: string;
  producerId: string;
}

export interface ModelId {
  name: string;
  version: string;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** A pixel box as fractions of the frame, clipped to it (faces at the edge extend past it). */
export function normaliseBox(box: Box, width: number, height: number): AffectEvent['box'] {
  const x0 = clamp01(box.x / width);
  const y0 = clamp01(box.y / height);
  return { x: x0, y: y0, w: clamp01((box.x + box.width) / width) - x0, h: clamp01((box.y + box.height) / height) - y0 };
}

/**
 * Turns one stream's analysed frames into affect stream events: numbers them (one `seq` per stream,
 * over all event types) and remembers which faces are live, so the end of a stream closes every face.
 * A face-lost event carries the arrival time of the face's last affect event: when it was last seen,
 * not when the tracker gave up on it (its miss timeout later) nor when the stream ended.
 */
export class StreamEvents {
  #seq: number;
  /** Live face id -> arrival time of the last frame it was seen in. */
  readonly #live = new Map<number, number>();

  /** `firstSeq`: where a stream analysed before (a participant who opted out and back in) numbers on from. */
  constructor(
    private readonly ids: StreamIds,
    private readonly model: ModelId,
    firstSeq = 0,
  ) {
    this.#seq = firstSeq;
  }

  /** The number the next event will carry. */
  get nextSeq(): number {
    return this.#seq;
  }

  fromFrame(analysed: AnalysedFrame, emitTime: number): AffectStreamEvent[] {
    const { frame } = analysed;
    const events: AffectStreamEvent[] = analysed.faces.map(({ id, detection, prediction }) => {
      this.#live.set(id, frame.arrivalTime);
      return {
        type: 'affect',
        ...this.#head(id),
        arrivalTime: frame.arrivalTime,
        captureTime: frame.arrivalTime,
        emitTime,
        frame: { width: frame.width, height: frame.height },
        box: normaliseBox(detection.box, frame.width, frame.height),
        detScore: clamp01(detection.score),
        valence: Math.max(-1, Math.min(1, prediction.valence)),
        arousal: Math.max(-1, Math.min(1, prediction.arousal)),
        expression: prediction.expression,
        aus: prediction.aus,
        model: this.model,
        ...(analysed.analysisFps !== undefined && { analysisFps: Math.round(analysed.analysisFps * 10) / 10 }),
      };
    });
    for (const id of analysed.ended) {
      const lastSeen = this.#live.get(id);
      if (lastSeen === undefined) continue;
      this.#live.delete(id);
      events.push(this.#lost(id, lastSeen));
    }
    return events;
  }

  /** The stream ended: every face still live is lost. */
  end(): FaceLostEvent[] {
    const events = [...this.#live].map(([id, lastSeen]) => this.#lost(id, lastSeen));
    this.#live.clear();
    return events;
  }

  #lost(faceId: number, time: number): FaceLostEvent {
    return { type: 'face-lost', ...this.#head(faceId), time };
  }

  #head(faceId: number) {
    return { v: AFFECT_EVENT_VERSION, seq: this.#seq++, ...this.ids, faceId } as const;
  }
}
