import type { Box, RgbImage } from '../vision/types.ts';

/**
 * A frame in brief: the mean brightness of each cell of a coarse grid, from a few samples per cell. Enough to tell
 * whether part of the picture changed (someone walked in, the camera moved, the scene cut, a head turned), averaged
 * over samples so that compression noise hardly moves a cell; a few microseconds for a frame.
 */
export interface SceneSignature {
  cols: number;
  rows: number;
  /** Frame size it was taken from: a signature of another size is not comparable. */
  width: number;
  height: number;
  cells: Float32Array;
}

const COLS = 16;
const ROWS = 12;
/** Samples per cell side: 4 x 4 per cell, 3072 pixels read for the whole frame. */
const SAMPLES = 4;
/**
 * A cell changed when its mean brightness moved by more than this (of 255): a face or a body entering a cell moves
 * it by tens, VP8 noise and a speaker's small head motions on a still background by 1-3.
 */
export const CELL_CHANGE = 12;
/** Cells that must change together: one cell is a flicker, a person walking in covers several. */
export const MIN_CHANGED_CELLS = 2;

export function sceneSignature(image: RgbImage): SceneSignature {
  const { width, height, pixels } = image;
  const cells = new Float32Array(COLS * ROWS);
  const cellW = width / COLS;
  const cellH = height / ROWS;
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      let sum = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        const y = Math.min(height - 1, Math.floor(r * cellH + ((sy + 0.5) * cellH) / SAMPLES));
        for (let sx = 0; sx < SAMPLES; sx++) {
          const x = Math.min(width - 1, Math.floor(c * cellW + ((sx + 0.5) * cellW) / SAMPLES));
          const p = (y * width + x) * 3;
          // Green carries most of the luma; one channel is enough to see change.
          sum += pixels[p + 1]!;
        }
      }
      cells[r * COLS + c] = sum / (SAMPLES * SAMPLES);
    }
  }
  return { cols: COLS, rows: ROWS, width, height, cells };
}

/** Cells whose mean brightness moved by more than `threshold` between two signatures of one frame size, among those `counted`. */
function changedCells(before: SceneSignature, after: SceneSignature, threshold: number, counted: (cell: Box) => boolean): number {
  const width = after.width / after.cols;
  const height = after.height / after.rows;
  let changed = 0;
  for (let r = 0; r < after.rows; r++) {
    for (let c = 0; c < after.cols; c++) {
      const i = r * after.cols + c;
      if (Math.abs(after.cells[i]! - before.cells[i]!) > threshold && counted({ x: c * width, y: r * height, width, height })) changed += 1;
    }
  }
  return changed;
}

const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && a.x + a.width > b.x && a.y < b.y + b.height && a.y + a.height > b.y;

/**
 * Whether the picture changed between two signatures anywhere outside `exclude` (the regions of the faces already
 * known, which may move and talk as they like): where no change is, no new face can have appeared. Signatures of
 * different frame sizes always count as changed.
 */
export function changedOutside(before: SceneSignature, after: SceneSignature, exclude: readonly Box[]): boolean {
  if (before.width !== after.width || before.height !== after.height) return true;
  return changedCells(before, after, CELL_CHANGE, (cell) => !exclude.some((box) => overlaps(cell, box))) >= MIN_CHANGED_CELLS;
}

/**
 * A cell over a face moved by no more than this (of 255): the face is where it was, within a pixel or two. A talking
 * mouth or blinking eyes move their cells by 1-5, a head turning or stepping by tens.
 */
export const HELD_CHANGE = 8;

/** Whether nothing changed within `boxes` (the known faces) between two signatures: the faces are where they were. */
export function stillWithin(before: SceneSignature, after: SceneSignature, boxes: readonly Box[]): boolean {
  if (before.width !== after.width || before.height !== after.height) return false;
  return changedCells(before, after, HELD_CHANGE, (cell) => boxes.some((box) => overlaps(cell, box))) === 0;
}
