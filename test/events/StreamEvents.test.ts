import { describe, expect, it } from 'vitest';
import { AffectStreamEventSchema } from '../../protocol/affect-event.ts';
import { StreamEvents, normaliseBox } from '../../server/src/events/StreamEvents.ts';
import type { AnalysedFrame } from '../../server/src/pipeline/analyseStream.ts';
import type { AffectPrediction, FaceDetection } from '../../server/src/vision/types.ts';

const prediction: AffectPrediction = {
  valence: 0.4,
  arousal: -0.2,
  expression: { label: 'happiness', probs: { neutral: 0.3, happiness: 0.7 } },
  aus: { AU12: { p: 0.8, active: true } },
};
const detection: FaceDetection = {
  box: { x: 600, y: -10, width: 80, height: 100 },
  keypoints: [],
  score: 0.9,
};

function frameAt(timeMs: number, faceIds: number[], ended: number[] = []): AnalysedFrame {
  return {
    frame: {
      roomId: 'r',
      peerId: 'p',
      streamId: 's',
      seq: 0,
      width: 640,
      height: 480,
      pixels: new Uint8Array(0),
      captureTime: timeMs,
      decodedTime: timeMs + 30,
    },
    timeMs,
    detectStart: timeMs + 31,
    detectEnd: timeMs + 36,
    inferEnd: timeMs + 40,
    faces: faceIds.map((id) => ({ id, detection, prediction })),
    ended,
  };
}

describe('StreamEvents', () => {
  it('clips and normalises boxes to the frame', () => {
    expect(normaliseBox({ x: 600, y: -10, width: 80, height: 100 }, 640, 480)).toEqual({
      x: 600 / 640,
      y: 0,
      w: 40 / 640,
      h: 90 / 480,
    });
  });

  it('numbers every event of a stream, emits face-lost for ended and, at the end, for live faces', () => {
    const stream = new StreamEvents({ roomId: 'r', peerId: 'p', producerId: 's' }, { name: 'm', version: '1' });
    const first = stream.fromFrame(frameAt(1000, [1, 2]), 1050);
    const second = stream.fromFrame(frameAt(1100, [2], [1, 7]), 1150);
    const last = stream.end(1200);
    const all = [...first, ...second, ...last];
    for (const event of all) AffectStreamEventSchema.parse(event);
    expect(all.map((e) => [e.type, e.faceId, e.seq])).toEqual([
      ['affect', 1, 0],
      ['affect', 2, 1],
      ['affect', 2, 2],
      // 7 was never live here: no event for it.
      ['face-lost', 1, 3],
      ['face-lost', 2, 4],
    ]);
    expect(stream.end(1300)).toEqual([]);
  });
});
