/** models/fpnmaa/export.py fixture_input: [1, 3, S, S], a smooth deterministic pattern both sides rebuild. */
export function fixtureInput(size: number): Float32Array {
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        out[(c * size + y) * size + x] =
          Math.sin(0.11 * x + 0.7 * c) * Math.cos(0.07 * y - 0.3 * c) + 0.25 * Math.sin((0.013 * x * y) / (c + 1));
  return out;
}

export const softmax = (v: number[]): number[] => {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};
