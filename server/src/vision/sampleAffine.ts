import type { RgbImage } from './types.ts';

/**
 * Maps a point of the output (target) plane to the source image:
 *   x = a*u + b*v + tx,  y = c*u + d*v + ty
 * Both planes use continuous pixel coordinates: pixel (i, j) covers [i, i+1) x [j, j+1), so its centre is
 * (i + 0.5, j + 0.5). docs/alignment.md fixes this convention so the training code samples the same points.
 */
export interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  tx: number;
  ty: number;
}

/**
 * Where and how samples are written. Layout is given by strides so one sampler fills both the detector's
 * NHWC tensor (pixelStride 3, channelStride 1) and the affect model's NCHW batch (pixelStride 1,
 * channelStride width*height).
 */
export interface SampleTarget {
  data: Float32Array;
  /** Index of channel 0 of output pixel (0, 0). */
  offset: number;
  width: number;
  height: number;
  pixelStride: number;
  channelStride: number;
  /** Per RGB channel: written value = (pixel / 255 - mean) / std. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/**
 * Bilinear resampling of an RGB24 image through an affine map into a float tensor.
 * Outside the image counts as black (pixel value 0): the letterbox pads with it, and a crop that runs past the
 * frame edge sees it, exactly like zero padding in torch's grid_sample(align_corners=False).
 * No allocation per pixel; the only state is the target the caller owns.
 */
export function sampleAffine(image: RgbImage, m: Affine, t: SampleTarget): void {
  const { width: w, height: h, pixels } = image;
  const rowBytes = w * 3;
  const { data, pixelStride: ps, channelStride: cs } = t;
  const k0 = 1 / (255 * t.std[0]);
  const k1 = 1 / (255 * t.std[1]);
  const k2 = 1 / (255 * t.std[2]);
  const o0 = -t.mean[0] / t.std[0];
  const o1 = -t.mean[1] / t.std[1];
  const o2 = -t.mean[2] / t.std[2];
  let out = t.offset;
  for (let j = 0; j < t.height; j++) {
    const v = j + 0.5;
    for (let i = 0; i < t.width; i++, out += ps) {
      const u = i + 0.5;
      // Source position in pixel-index space (centres on integers) for the bilinear weights.
      const fx = m.a * u + m.b * v + m.tx - 0.5;
      const fy = m.c * u + m.d * v + m.ty - 0.5;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const wx = fx - x0;
      const wy = fy - y0;
      let r = 0;
      let g = 0;
      let b = 0;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
        // Interior: all four neighbours exist (the common case, kept branch-free).
        const p00 = y0 * rowBytes + x0 * 3;
        const p10 = p00 + 3;
        const p01 = p00 + rowBytes;
        const p11 = p01 + 3;
        const w00 = (1 - wx) * (1 - wy);
        const w10 = wx * (1 - wy);
        const w01 = (1 - wx) * wy;
        const w11 = wx * wy;
        r = w00 * pixels[p00]! + w10 * pixels[p10]! + w01 * pixels[p01]! + w11 * pixels[p11]!;
        g = w00 * pixels[p00 + 1]! + w10 * pixels[p10 + 1]! + w01 * pixels[p01 + 1]! + w11 * pixels[p11 + 1]!;
        b = w00 * pixels[p00 + 2]! + w10 * pixels[p10 + 2]! + w01 * pixels[p01 + 2]! + w11 * pixels[p11 + 2]!;
      } else if (x0 >= -1 && y0 >= -1 && x0 < w && y0 < h) {
        // Edge: neighbours outside the image are black, so they simply add nothing.
        for (let dy = 0; dy < 2; dy++) {
          const y = y0 + dy;
          if (y < 0 || y >= h) continue;
          const wyy = dy === 0 ? 1 - wy : wy;
          for (let dx = 0; dx < 2; dx++) {
            const x = x0 + dx;
            if (x < 0 || x >= w) continue;
            const ww = wyy * (dx === 0 ? 1 - wx : wx);
            const p = y * rowBytes + x * 3;
            r += ww * pixels[p]!;
            g += ww * pixels[p + 1]!;
            b += ww * pixels[p + 2]!;
          }
        }
      }
      data[out] = r * k0 + o0;
      data[out + cs] = g * k1 + o1;
      data[out + 2 * cs] = b * k2 + o2;
    }
  }
}
