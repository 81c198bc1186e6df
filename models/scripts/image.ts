import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { RgbImage } from '../../server/src/vision/types.ts';

/** Decodes a PNG or JPEG file into packed RGB24 (alpha dropped), the frame layout the server's vision takes. */
export function loadImage(path: string): RgbImage {
  const bytes = readFileSync(path);
  const png = bytes[0] === 0x89 && bytes[1] === 0x50;
  const { width, height, data } = png
    ? PNG.sync.read(bytes)
    : jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < pixels.length; i += 3, j += 4) {
    pixels[i] = data[j]!;
    pixels[i + 1] = data[j + 1]!;
    pixels[i + 2] = data[j + 2]!;
  }
  return { width, height, pixels };
}
