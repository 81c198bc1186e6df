/** Where a tile goes on the stage, in CSS pixels from the stage's top left corner. */
export interface Placement {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Area {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * `count` tiles of aspect `aspect` (width / height) in a grid inside `area`, `gap` apart, as large as they
 * can be: every column count is tried and the one giving the widest tiles wins (on a wide screen that is
 * more columns, on a phone more rows). The grid is centred in the area, a last short row centred too.
 */
export function gridIn(area: Area, count: number, aspect: number, gap: number): Placement[] {
  if (count <= 0 || area.w <= 0 || area.h <= 0) return [];
  let best = { columns: 1, rows: count, w: 0, h: 0 };
  for (let columns = 1; columns <= count; columns++) {
    const rows = Math.ceil(count / columns);
    const cellW = (area.w - gap * (columns - 1)) / columns;
    const cellH = (area.h - gap * (rows - 1)) / rows;
    const w = Math.max(0, Math.min(cellW, cellH * aspect));
    if (w > best.w) best = { columns, rows, w, h: w / aspect };
  }
  const { columns, rows, w, h } = best;
  const top = area.y + (area.h - (rows * h + (rows - 1) * gap)) / 2;
  return Array.from({ length: count }, (_, i) => {
    const row = Math.floor(i / columns);
    const inRow = row === rows - 1 ? count - row * columns : columns;
    const left = area.x + (area.w - (inRow * w + (inRow - 1) * gap)) / 2;
    return { x: left + (i % columns) * (w + gap), y: top + row * (h + gap), w, h };
  });
}

export interface StageLayout {
  main: Placement[];
  strip: Placement[];
}

/**
 * The call's stage: the `main` tiles (the others, or the pinned one) as large as they fit, and the
 * `strip` tiles (the self view, the others while one is pinned) small beside them, as in common call
 * apps: a column on the right of a landscape stage, a row at the bottom of a portrait one (a phone).
 * With no strip tiles, the main grid has the whole stage.
 */
export function stageLayout(width: number, height: number, mainCount: number, stripCount: number, aspect: number, gap: number): StageLayout {
  const whole = { x: 0, y: 0, w: width, h: height };
  if (stripCount === 0) return { main: gridIn(whole, mainCount, aspect, gap), strip: [] };
  if (mainCount === 0) return { main: [], strip: gridIn(whole, stripCount, aspect, gap) };
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
  if (width >= height) {
    const stripW = clamp(width * 0.22, 140, 300);
    return {
      main: gridIn({ x: 0, y: 0, w: width - stripW - gap, h: height }, mainCount, aspect, gap),
      // Stacked from the bottom right, where the self view usually is.
      strip: bottomAligned(gridIn({ x: width - stripW, y: 0, w: stripW, h: height }, stripCount, aspect, gap), height),
    };
  }
  const stripH = clamp(height * 0.18, 90, 200);
  return {
    main: gridIn({ x: 0, y: 0, w: width, h: height - stripH - gap }, mainCount, aspect, gap),
    strip: gridIn({ x: 0, y: height - stripH, w: width, h: stripH }, stripCount, aspect, gap),
  };
}

/** Moves a grid centred in a column down to its bottom. */
function bottomAligned(tiles: Placement[], height: number): Placement[] {
  const bottom = Math.max(...tiles.map((t) => t.y + t.h));
  return tiles.map((t) => ({ ...t, y: t.y + (height - bottom) }));
}
