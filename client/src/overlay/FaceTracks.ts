import type { AffectEvent, AffectStreamEvent } from '../../../protocol/affect-event.ts';

/** A face goes on showing for this long after its last event, then fades out over FADE_MS. */
export const HOLD_MS = 1000;
export const FADE_MS = 500;
/** Points of the valence/arousal trail kept per face (~2 s at the server's 15 analyses per second). */
const TRAIL_LENGTH = 30;

export interface FaceState {
  event: AffectEvent;
  trail: { valence: number; arousal: number }[];
  /** performance.now() when the last event arrived. */
  updatedAt: number;
}

export interface VisibleFace extends FaceState {
  /** 1 while events arrive; falls to 0 during the fade. */
  alpha: number;
}

/** The faces currently shown on one tile, from its affect events. */
export class FaceTracks {
  readonly #faces = new Map<number, FaceState>();

  apply(event: AffectStreamEvent, now = performance.now()): void {
    if (event.type === 'face-lost') {
      this.#faces.delete(event.faceId);
      return;
    }
    const face = this.#faces.get(event.faceId) ?? { event, trail: [], updatedAt: now };
    face.event = event;
    face.updatedAt = now;
    face.trail.push({ valence: event.valence, arousal: event.arousal });
    if (face.trail.length > TRAIL_LENGTH) face.trail.shift();
    this.#faces.set(event.faceId, face);
  }

  /** The faces to draw at `now`, oldest track first; faces that have faded out completely are forgotten. */
  visible(now = performance.now()): VisibleFace[] {
    const shown: VisibleFace[] = [];
    for (const [id, face] of this.#faces) {
      const silent = now - face.updatedAt;
      const alpha = silent <= HOLD_MS ? 1 : 1 - (silent - HOLD_MS) / FADE_MS;
      if (alpha <= 0) this.#faces.delete(id);
      else shown.push({ ...face, alpha });
    }
    return shown;
  }
}
