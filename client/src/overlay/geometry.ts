import type { NormalisedBox } from '../../../protocol/affect-event.ts';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Where a video frame of `frameW` x `frameH` is drawn inside an element of `boxW` x `boxH` under
 * `object-fit: contain`: scaled to fit, centred, letterboxed on the other axis.
 */
export function containedRect(boxW: number, boxH: number, frameW: number, frameH: number): Rect {
  if (frameW <= 0 || frameH <= 0) return { x: 0, y: 0, w: boxW, h: boxH };
  const scale = Math.min(boxW / frameW, boxH / frameH);
  const w = frameW * scale;
  const h = frameH * scale;
  return { x: (boxW - w) / 2, y: (boxH - h) / 2, w, h };
}

/**
 * A face box (fractions of the analysed frame, which has the video's aspect) in the pixels of `content`.
 * A mirrored view (the self view) shows the frame flipped left-right, so the box flips with it; the
 * overlay itself is not flipped, or its text would read backwards.
 */
export function boxInContent(box: NormalisedBox, content: Rect, mirrored: boolean): Rect {
  const x = mirrored ? 1 - box.x - box.w : box.x;
  return { x: content.x + x * content.w, y: content.y + box.y * content.h, w: box.w * content.w, h: box.h * content.h };
}
