import { describe, expect, it } from 'vitest';
import { gridIn, stageLayout, type Placement } from '../../client/src/gallery/layout.ts';

const overlap = (a: Placement, b: Placement) =>
  Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) > 0.5 && Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) > 0.5;

describe('gallery layout', () => {
  it('fills a wide screen with 2 columns for 4 tiles and 3 for 9, a phone with 2 columns for 4', () => {
    const columns = (tiles: Placement[]) => new Set(tiles.map((t) => Math.round(t.x))).size;
    expect(columns(gridIn({ x: 0, y: 0, w: 1200, h: 700 }, 4, 4 / 3, 8))).toBe(2);
    expect(columns(gridIn({ x: 0, y: 0, w: 1200, h: 700 }, 9, 4 / 3, 8))).toBe(3);
    expect(columns(gridIn({ x: 0, y: 0, w: 390, h: 600 }, 4, 4 / 3, 8))).toBe(1);
    expect(columns(gridIn({ x: 0, y: 0, w: 390, h: 600 }, 8, 4 / 3, 8))).toBe(2);
    // A short last row is centred: 3 tiles on 2 columns.
    const [a, b, c] = gridIn({ x: 0, y: 0, w: 1000, h: 700 }, 3, 4 / 3, 10);
    expect(c!.x + c!.w / 2).toBeCloseTo(500);
    expect(a!.y).toBeCloseTo(b!.y);
  });

  // Stages of a 1280x800 desktop window, a 390x844 phone, and a tablet, less the page's header and controls.
  for (const [width, height] of [
    [1264, 690],
    [374, 700],
    [1004, 620],
    [720, 1100],
  ] as const) {
    it(`puts 1-16 participants on a ${width}x${height} stage without overflow or overlap, the self view smaller`, () => {
      for (let count = 1; count <= 16; count++) {
        const { main, strip } = stageLayout(width, height, count === 1 ? 1 : count - 1, count === 1 ? 0 : 1, 4 / 3, 8);
        const all = [...main, ...strip];
        expect(all).toHaveLength(count);
        for (const t of all) {
          expect(t.x).toBeGreaterThanOrEqual(-0.01);
          expect(t.y).toBeGreaterThanOrEqual(-0.01);
          expect(t.x + t.w).toBeLessThanOrEqual(width + 0.01);
          expect(t.y + t.h).toBeLessThanOrEqual(height + 0.01);
          expect(t.w / t.h).toBeCloseTo(4 / 3);
          // Still a face one can see: at least a 90 px wide tile on a phone with 16 people.
          expect(t.w).toBeGreaterThanOrEqual(90);
        }
        for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) expect(overlap(all[i]!, all[j]!)).toBe(false);
        // The self view next to one other person: under a third of their tile.
        if (count === 2) expect(strip[0]!.w * strip[0]!.h).toBeLessThan((main[0]!.w * main[0]!.h) / 3);
      }
    });
  }
});
