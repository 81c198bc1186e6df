import type { AffectStreamEvent } from '../../../protocol/affect-event.ts';
import type { AffectSummary } from '../../../protocol/webhooks.ts';

/**
 * What the `affect` webhook carries: per room, every face whose state changed enough since it was last sent
 * (valence or arousal by at least `minChange`, another expression label, or its track ended), each with its
 * latest values; a face that did not change is not repeated. At 15 events a second per face a receiver then
 * gets at most one entry per face per interval, and none while a face holds still.
 */
export class AffectBatcher {
  /** roomId -> face key -> the latest state and the one last sent. */
  readonly #rooms = new Map<string, Map<string, { latest: AffectSummary; sent: AffectSummary | undefined }>>();

  constructor(private readonly minChange: number) {}

  add(event: AffectStreamEvent): void {
    let faces = this.#rooms.get(event.roomId);
    if (!faces) this.#rooms.set(event.roomId, (faces = new Map()));
    const key = `${event.producerId}:${event.faceId}`;
    const face = faces.get(key);
    if (event.type === 'face-lost') {
      // A face never sent needs no goodbye.
      if (face?.sent) face.latest = { ...face.latest, present: false };
      else faces.delete(key);
      return;
    }
    const latest: AffectSummary = {
      peerId: event.peerId,
      producerId: event.producerId,
      faceId: event.faceId,
      time: event.arrivalTime,
      valence: event.valence,
      arousal: event.arousal,
      expression: event.expression.label,
      present: true,
    };
    if (face) face.latest = latest;
    else faces.set(key, { latest, sent: undefined });
  }

  /** The faces to send now, per room (rooms with none left out; only `onlyRoom` if given); they count as sent. */
  flush(onlyRoom?: string): Map<string, AffectSummary[]> {
    const batches = new Map<string, AffectSummary[]>();
    for (const [roomId, faces] of this.#rooms) {
      if (onlyRoom !== undefined && roomId !== onlyRoom) continue;
      const batch: AffectSummary[] = [];
      for (const [key, face] of faces) {
        if (changed(face.sent, face.latest, this.minChange)) {
          batch.push(face.latest);
          face.sent = face.latest;
        }
        if (!face.latest.present) faces.delete(key);
      }
      if (faces.size === 0) this.#rooms.delete(roomId);
      if (batch.length > 0) batches.set(roomId, batch);
    }
    return batches;
  }

  forgetRoom(roomId: string): void {
    this.#rooms.delete(roomId);
  }
}

function changed(sent: AffectSummary | undefined, latest: AffectSummary, minChange: number): boolean {
  if (!sent) return true;
  return (
    sent.present !== latest.present ||
    sent.expression !== latest.expression ||
    Math.abs(sent.valence - latest.valence) >= minChange ||
    Math.abs(sent.arousal - latest.arousal) >= minChange
  );
}
