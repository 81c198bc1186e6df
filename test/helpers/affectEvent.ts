import { AFFECT_EVENT_VERSION, type AffectEvent } from '../../protocol/affect-event.ts';

/** A schema-valid affect event of `roomId`, numbered `seq`, for tests that publish without a camera. */
export function syntheticAffectEvent(roomId: string, seq: number, overrides: Partial<AffectEvent> = {}): AffectEvent {
  return {
    type: 'affect',
    v: AFFECT_EVENT_VERSION,
    seq,
    roomId,
    peerId: 'p',
    producerId: 's',
    faceId: 1,
    arrivalTime: seq,
    captureTime: seq,
    emitTime: seq,
    frame: { width: 640, height: 480 },
    box: { x: 0.1, y: 0.1, w: 0.2, h: 0.2 },
    detScore: 0.9,
    valence: 0,
    arousal: 0,
    expression: { label: 'neutral', probs: { neutral: 1 } },
    aus: { AU1: { p: 0.5, active: false } },
    model: { name: 'synthetic', version: '1' },
    ...overrides,
  };
}
