import { describe, expect, it } from 'vitest';
import { boxInContent, containedRect } from '../../client/src/overlay/geometry.ts';

describe('overlay geometry', () => {
  it('letterboxes a 4:3 frame in a wide element and pillarboxes it in a tall one', () => {
    expect(containedRect(800, 300, 640, 480)).toEqual({ x: 200, y: 0, w: 400, h: 300 });
    expect(containedRect(300, 800, 640, 480)).toEqual({ x: 0, y: 287.5, w: 300, h: 225 });
    expect(containedRect(640, 480, 1280, 960)).toEqual({ x: 0, y: 0, w: 640, h: 480 });
  });

  it('places a face box in the content box, flipped left-right for a mirrored view', () => {
    const content = { x: 200, y: 0, w: 400, h: 300 };
    const box = { x: 0.1, y: 0.2, w: 0.25, h: 0.5 };
    expect(boxInContent(box, content, false)).toEqual({ x: 240, y: 60, w: 100, h: 150 });
    expect(boxInContent(box, content, true)).toEqual({ x: 460, y: 60, w: 100, h: 150 });
  });
});
