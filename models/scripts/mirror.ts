/** Left-right mirror images of square crops, in the two layouts the networks take: a second view of the same face. */

/** One crop, HWC with 3 channels (the tfjs teachers' layout). */
export function mirrorHWC(crop: Float32Array, size: number): Float32Array {
  const out = new Float32Array(crop.length);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) out[(y * size + x) * 3 + c] = crop[(y * size + (size - 1 - x)) * 3 + c]!;
  return out;
}

/** `count` crops, NCHW with 3 channels (the served aligner's layout). */
export function mirrorNCHW(crops: Float32Array, count: number, size: number): Float32Array {
  const out = new Float32Array(count * 3 * size * size);
  for (let row = 0; row < count * 3 * size; row++) {
    const o = row * size;
    for (let x = 0; x < size; x++) out[o + x] = crops[o + size - 1 - x]!;
  }
  return out;
}
