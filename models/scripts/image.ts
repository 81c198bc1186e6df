import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { RgbImage } from '../../server/src/vision/types.ts';

/** The one image-file decoder of the project (tests, benchmarks, training tools; the server never decodes files): a PNG or JPEG file,
 * told apart by its magic bytes, not its name, into packed RGB24 (alpha dropped), the frame layout the server's vision takes. */
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

/** A face image cropped edge to edge (FER+'s 48 px faces) made into a frame the detector reads like any other: padded
 * by its own size on every side (edge pixels repeated, so no hard border) and resampled bilinearly to size x size. */
export function framed(image: RgbImage, size: number): RgbImage {
  const { width, height, pixels } = image;
  const out = new Uint8Array(size * size * 3);
  const sx = (3 * width) / size;
  const sy = (3 * height) / size;
  const clamp = (v: number, hi: number) => Math.max(0, Math.min(hi, v));
  for (let v = 0; v < size; v++) {
    const y = clamp((v + 0.5) * sy - 0.5 - height, height - 1);
    const y0 = Math.floor(y);
    const y1 = Math.min(height - 1, y0 + 1);
    const fy = y - y0;
    for (let u = 0; u < size; u++) {
      const x = clamp((u + 0.5) * sx - 0.5 - width, width - 1);
      const x0 = Math.floor(x);
      const x1 = Math.min(width - 1, x0 + 1);
      const fx = x - x0;
      for (let c = 0; c < 3; c++) {
        const top = pixels[(y0 * width + x0) * 3 + c]! * (1 - fx) + pixels[(y0 * width + x1) * 3 + c]! * fx;
        const bottom = pixels[(y1 * width + x0) * 3 + c]! * (1 - fx) + pixels[(y1 * width + x1) * 3 + c]! * fx;
        out[(v * size + u) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return { width: size, height: size, pixels: out };
}

/** The frame size FER+ faces are made into (the detector then finds 99.7% of them). */
export const FERPLUS_FRAME = 256;
