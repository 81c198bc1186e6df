import type { Box, RgbImage } from '../../server/src/vision/types.ts';

/** A picture with structure everywhere (diagonal stripes and a gradient), so that any change shows somewhere. */
export function texturedImage(width: number, height: number): RgbImage {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = 60 + ((x + y) % 64) + Math.floor((64 * y) / height);
      pixels.set([v, v, v], (y * width + x) * 3);
    }
  }
  return { width, height, pixels };
}

/** A copy of `image` with `box` filled with grey `value`: something that walked into the picture. */
export function paintBlock(image: RgbImage, box: Box, value: number): RgbImage {
  const pixels = new Uint8Array(image.pixels);
  for (let y = Math.max(0, box.y); y < Math.min(image.height, box.y + box.height); y++) {
    pixels.fill(value, (y * image.width + Math.max(0, box.x)) * 3, (y * image.width + Math.min(image.width, box.x + box.width)) * 3);
  }
  return { ...image, pixels };
}
