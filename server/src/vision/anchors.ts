/**
 * MediaPipe's SSD anchors for BlazeFace (front 128 and back 256 alike): a 16x16 grid with 2 anchors per cell,
 * then an 8x8 grid with 6 per cell, 896 in all, centres at ((x + 0.5) / n, (y + 0.5) / n) as fractions of the
 * input square. Anchor size is fixed at 1, so only centres matter. The order matches the model's outputs:
 * the first 512 belong to `Identity:0`/`Identity_2:0`, the last 384 to `Identity_1:0`/`Identity_3:0`.
 */
export const ANCHOR_COUNT = 896;

const LAYERS: ReadonlyArray<{ grid: number; perCell: number }> = [
  { grid: 16, perCell: 2 },
  { grid: 8, perCell: 6 },
];

/** Interleaved [x0, y0, x1, y1, ...] anchor centres. */
export function blazeFaceAnchors(): Float32Array {
  const out = new Float32Array(ANCHOR_COUNT * 2);
  let k = 0;
  for (const { grid, perCell } of LAYERS) {
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++) {
        for (let n = 0; n < perCell; n++) {
          out[k++] = (x + 0.5) / grid;
          out[k++] = (y + 0.5) / grid;
        }
      }
    }
  }
  return out;
}
