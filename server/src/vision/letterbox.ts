import type { Affine } from './sampleAffine.ts';

/**
 * Fitting a width x height frame into a size x size square, keeping its aspect ratio and centring it
 * (the rest is padding). BlazeFace was trained on square inputs: stretching a 16:9 frame would squash faces.
 */
export interface Letterbox {
  /** Square side in pixels. */
  size: number;
  /** Square pixels per frame pixel. */
  scale: number;
  /** Padding on the left and on the top, in square pixels. */
  padX: number;
  padY: number;
}

export function letterbox(width: number, height: number, size: number): Letterbox {
  const scale = size / Math.max(width, height);
  return { size, scale, padX: (size - width * scale) / 2, padY: (size - height * scale) / 2 };
}

/** Square pixel -> frame pixel, the map the sampler needs to fill the square from the frame. */
export function letterboxToFrame(l: Letterbox): Affine {
  const inv = 1 / l.scale;
  return { a: inv, b: 0, c: 0, d: inv, tx: -l.padX * inv, ty: -l.padY * inv };
}
