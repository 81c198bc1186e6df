import { describe, expect, it } from 'vitest';
import { minCostAssignment } from '../../server/src/pipeline/assignment.ts';
import { random } from './faceFixtures.ts';

/** Best (most pairs, then least cost) by trying every assignment of rows to distinct columns or none. */
function bruteForce(cost: number[][]): { pairs: number; total: number } {
  const cols = cost[0]!.length;
  let best = { pairs: -1, total: Infinity };
  const visit = (row: number, taken: boolean[], pairs: number, total: number): void => {
    if (row === cost.length) {
      if (pairs > best.pairs || (pairs === best.pairs && total < best.total)) best = { pairs, total };
      return;
    }
    visit(row + 1, taken, pairs, total);
    for (let c = 0; c < cols; c++) {
      const x = cost[row]![c]!;
      if (taken[c] || !Number.isFinite(x)) continue;
      taken[c] = true;
      visit(row + 1, taken, pairs + 1, total + x);
      taken[c] = false;
    }
  };
  visit(0, [], 0, 0);
  return best;
}

const totalOf = (cost: number[][], pairs: [number, number][]) => pairs.reduce((s, [r, c]) => s + cost[r]![c]!, 0);

describe('minCostAssignment', () => {
  it('finds the global optimum where picking the cheapest pair first would not', () => {
    // Greedy takes (0,0)=1 and is left with (1,1)=100.
    expect(minCostAssignment([
      [1, 2],
      [2, 100],
    ])).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it('solves a textbook 3x3 case', () => {
    const cost = [
      [4, 1, 3],
      [2, 0, 5],
      [3, 2, 2],
    ];
    const pairs = minCostAssignment(cost);
    expect(pairs).toEqual([
      [0, 1],
      [1, 0],
      [2, 2],
    ]);
    expect(totalOf(cost, pairs)).toBe(5);
  });

  it('handles more rows than columns and more columns than rows', () => {
    expect(minCostAssignment([[5], [1], [3]])).toEqual([[1, 0]]);
    expect(minCostAssignment([[5, 1, 3]])).toEqual([[0, 1]]);
  });

  it('never returns a forbidden pair, and prefers more allowed pairs', () => {
    const cost = [
      [0.1, 1],
      [1, Infinity],
    ];
    // (0,0) alone is cheaper, but (0,1)+(1,0) matches both rows.
    expect(minCostAssignment(cost)).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(minCostAssignment([[Infinity, Infinity]])).toEqual([]);
  });

  it('returns nothing for an empty matrix and rejects malformed ones', () => {
    expect(minCostAssignment([])).toEqual([]);
    expect(minCostAssignment([[], []])).toEqual([]);
    expect(() => minCostAssignment([[1, 2], [3]])).toThrow(RangeError);
    expect(() => minCostAssignment([[NaN]])).toThrow(RangeError);
  });

  it('matches brute force on random matrices with forbidden pairs', () => {
    const next = random(42);
    for (let trial = 0; trial < 300; trial++) {
      const rows = 1 + Math.floor(next() * 5);
      const cols = 1 + Math.floor(next() * 5);
      const cost = Array.from({ length: rows }, () =>
        Array.from({ length: cols }, () => (next() < 0.25 ? Infinity : Math.round(next() * 100) / 10)),
      );
      const pairs = minCostAssignment(cost);
      const best = bruteForce(cost);
      expect(new Set(pairs.map(([, c]) => c)).size).toBe(pairs.length);
      expect(pairs.length).toBe(best.pairs);
      expect(totalOf(cost, pairs)).toBeCloseTo(best.total, 9);
    }
  });
});
