import { describe, expect, it } from 'vitest';
import { AFFECT_EVENT_VERSION, type AffectEvent, type FaceLostEvent } from '../../protocol/affect-event.ts';
import { FADE_MS, FaceTracks, HOLD_MS } from '../../client/src/overlay/FaceTracks.ts';

const base = { v: AFFECT_EVENT_VERSION, roomId: 'r', peerId: 'p', producerId: 'v' } as const;

function affect(faceId: number, seq: number, valence = 0): AffectEvent {
  return {
    ...base,
    type: 'affect',
    seq,
    faceId,
    arrivalTime: 1000 + seq,
    captureTime: 1000 + seq,
    emitTime: 1050 + seq,
    frame: { width: 640, height: 480 },
    box: { x: 0.4, y: 0.3, w: 0.2, h: 0.3 },
    detScore: 0.9,
    valence,
    arousal: 0.1,
    expression: { label: 'Neutral', probs: { Neutral: 0.8, Happiness: 0.2 } },
    aus: { AU12: { p: 0.3, active: false } },
    model: { name: 'test', version: '1' },
  };
}

describe('FaceTracks', () => {
  it('keeps the latest event and a trail per face, and drops a face on face-lost', () => {
    const tracks = new FaceTracks();
    tracks.apply(affect(1, 0, 0.1), 0);
    tracks.apply(affect(2, 1), 0);
    tracks.apply(affect(1, 2, 0.3), 10);
    const [one, two] = tracks.visible(20);
    expect(one!.event.seq).toBe(2);
    expect(one!.trail.map((p) => p.valence)).toEqual([0.1, 0.3]);
    expect(two!.event.faceId).toBe(2);
    const lost: FaceLostEvent = { ...base, type: 'face-lost', seq: 3, faceId: 1, time: 1002 };
    tracks.apply(lost, 30);
    expect(tracks.visible(40).map((f) => f.event.faceId)).toEqual([2]);
  });

  it('holds a silent face for a second, fades it out, then forgets it', () => {
    const tracks = new FaceTracks();
    tracks.apply(affect(1, 0), 0);
    expect(tracks.visible(HOLD_MS)[0]!.alpha).toBe(1);
    expect(tracks.visible(HOLD_MS + FADE_MS / 2)[0]!.alpha).toBeCloseTo(0.5);
    expect(tracks.visible(HOLD_MS + FADE_MS)).toEqual([]);
    // Forgotten: an earlier time does not bring it back.
    expect(tracks.visible(0)).toEqual([]);
  });

  it('bounds the trail', () => {
    const tracks = new FaceTracks();
    for (let i = 0; i < 100; i++) tracks.apply(affect(1, i, i / 100), i);
    const trail = tracks.visible(100)[0]!.trail;
    expect(trail.length).toBeLessThan(100);
    expect(trail.at(-1)!.valence).toBe(0.99);
  });
});
