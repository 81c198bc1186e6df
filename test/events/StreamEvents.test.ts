import { describe, expect, it } from 'vitest';
import { AffectStreamEventSchema } from '../../protocol/affect-event.ts';
import { StreamEvents, normaliseBox } from '../../server/src/events/StreamEvents.ts';
import { analysedFrameAt } from '../helpers/analysedFrame.ts';

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
    const first = stream.fromFrame(analysedFrameAt(1000, [1, 2]), 1050);
    const second = stream.fromFrame(analysedFrameAt(1100, [2], [1, 7]), 1150);
    const last = stream.end();
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
    expect(stream.end()).toEqual([]);
  });

  it('stamps affect events (v2) with the frame\'s arrival time, in arrivalTime and the deprecated captureTime', () => {
    const stream = new StreamEvents({ roomId: 'r', peerId: 'p', producerId: 's' }, { name: 'm', version: '1' });
    const [event] = stream.fromFrame(analysedFrameAt(1000, [1]), 1050);
    expect(event).toMatchObject({ type: 'affect', v: 2, arrivalTime: 1000, captureTime: 1000, emitTime: 1050 });
  });

  it('says how fast its stream is analysed, once there is a rate', () => {
    const stream = new StreamEvents({ roomId: 'r', peerId: 'p', producerId: 's' }, { name: 'm', version: '1' });
    const [withRate] = stream.fromFrame({ ...analysedFrameAt(1000, [1]), analysisFps: 7.26 }, 1050);
    const [first] = stream.fromFrame({ ...analysedFrameAt(1100, [1]), analysisFps: undefined }, 1150);
    expect(AffectStreamEventSchema.parse(withRate)).toMatchObject({ analysisFps: 7.3 });
    expect(AffectStreamEventSchema.parse(first)).not.toHaveProperty('analysisFps');
  });

  it('dates face-lost at the arrival of the last frame the face was seen in, not when it was given up', () => {
    const stream = new StreamEvents({ roomId: 'r', peerId: 'p', producerId: 's' }, { name: 'm', version: '1' });
    stream.fromFrame(analysedFrameAt(1000, [1, 2]), 1050);
    stream.fromFrame(analysedFrameAt(1066, [1, 2]), 1120);
    // Face 1 unseen from here; the tracker gives it up past its miss timeout.
    for (let t = 1133; t < 2100; t += 67) stream.fromFrame(analysedFrameAt(t, [2]), t + 50);
    const givenUp = stream.fromFrame(analysedFrameAt(2133, [2], [1]), 2180);
    expect(givenUp.filter((e) => e.type === 'face-lost')).toMatchObject([{ faceId: 1, time: 1066 }]);
    // At the stream's end, face 2 was last seen in the frame that arrived at 2133.
    expect(stream.end()).toMatchObject([{ type: 'face-lost', faceId: 2, time: 2133 }]);
  });
});
