/**
 * Optimal one-to-one assignment between rows and columns of a cost matrix (Hungarian algorithm,
 * Kuhn-Munkres with potentials, O(n^2 m) for n = min(rows, cols)).
 *
 * `Infinity` marks a forbidden pair. The result first matches as many pairs as the allowed ones
 * permit, then has the least total cost among those; forbidden pairs are never returned. Pairs come
 * back as `[row, col]`, sorted by row. Costs must not be NaN.
 */
export function minCostAssignment(cost: readonly (readonly number[])[]): [row: number, col: number][] {
  const rows = cost.length;
  const cols = cost[0]?.length ?? 0;
  if (rows === 0 || cols === 0) return [];

  let worst = 0;
  for (const row of cost) {
    if (row.length !== cols) throw new RangeError('cost matrix rows differ in length');
    for (const c of row) {
      if (Number.isNaN(c)) throw new RangeError('cost matrix contains NaN');
      if (Number.isFinite(c)) worst = Math.max(worst, Math.abs(c));
    }
  }
  // The algorithm needs finite costs. A forbidden pair costs more than any assignment of allowed
  // pairs can differ by, so using one more forbidden pair never pays off.
  const n = Math.min(rows, cols);
  const forbidden = (2 * n + 1) * (worst + 1);

  // Work on the orientation with no more rows than columns, 1-based as in the textbook form.
  const transposed = rows > cols;
  const m = transposed ? rows : cols;
  const at = (i: number, j: number): number => {
    const c = transposed ? cost[j - 1]![i - 1]! : cost[i - 1]![j - 1]!;
    return Number.isFinite(c) ? c : forbidden;
  };

  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const rowOfCol = new Int32Array(m + 1); // 0 = unassigned
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);

  for (let i = 1; i <= n; i++) {
    rowOfCol[0] = i;
    let j0 = 0;
    minv.fill(Number.POSITIVE_INFINITY);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = rowOfCol[j0]!;
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const reduced = at(i0, j) - u[i0]! - v[j]!;
        if (reduced < minv[j]!) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[rowOfCol[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (rowOfCol[j0] !== 0);
    do {
      const j1 = way[j0]!;
      rowOfCol[j0] = rowOfCol[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }

  const pairs: [number, number][] = [];
  for (let j = 1; j <= m; j++) {
    const i = rowOfCol[j]!;
    if (i === 0) continue;
    const pair: [number, number] = transposed ? [j - 1, i - 1] : [i - 1, j - 1];
    if (Number.isFinite(cost[pair[0]]![pair[1]]!)) pairs.push(pair);
  }
  return pairs.sort((a, b) => a[0] - b[0]);
}
