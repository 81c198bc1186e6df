import type { Tile } from '../Tile.ts';
import { stageLayout } from './layout.ts';

/** Tiles show 4:3 video (cameras' and the tap's usual shape); other shapes are letterboxed inside. */
const TILE_ASPECT = 4 / 3;
const GAP_PX = 8;

/**
 * The call's stage: lays the tiles out as a gallery that fits the stage without scrolling (every tile
 * placed by `stageLayout`, again whenever the stage resizes or a tile comes, goes or is pinned). The self
 * view goes to the strip once someone else is there; a pinned tile takes the main area.
 */
export class Gallery {
  readonly #tiles = new Set<Tile>();
  readonly #resize = new ResizeObserver(() => this.#layout());
  #pinned: Tile | undefined;

  constructor(private readonly stage: HTMLElement) {
    this.#resize.observe(stage);
  }

  add(tile: Tile): void {
    this.#tiles.add(tile);
    this.stage.append(tile.element);
    this.#layout();
  }

  remove(tile: Tile): void {
    this.#tiles.delete(tile);
    if (this.#pinned === tile) this.#pinned = undefined;
    this.#layout();
  }

  /** Pins `tile` to the main area, or unpins it if it is pinned already. */
  togglePin(tile: Tile): void {
    this.#pinned = this.#pinned === tile ? undefined : tile;
    for (const t of this.#tiles) t.pinned = t === this.#pinned;
    this.#layout();
  }

  #layout(): void {
    const tiles = [...this.#tiles];
    const others = tiles.filter((t) => !t.self);
    let main: Tile[];
    let strip: Tile[];
    if (this.#pinned) {
      main = [this.#pinned];
      strip = tiles.filter((t) => t !== this.#pinned);
    } else if (others.length === 0) {
      main = tiles;
      strip = [];
    } else {
      main = others;
      strip = tiles.filter((t) => t.self);
    }
    const { clientWidth, clientHeight } = this.stage;
    const placed = stageLayout(clientWidth, clientHeight, main.length, strip.length, TILE_ASPECT, GAP_PX);
    const place = (tile: Tile, at: { x: number; y: number; w: number; h: number } | undefined, inStrip: boolean) => {
      if (!at) return;
      Object.assign(tile.element.style, {
        left: `${Math.round(at.x)}px`,
        top: `${Math.round(at.y)}px`,
        width: `${Math.floor(at.w)}px`,
        height: `${Math.floor(at.h)}px`,
      });
      tile.element.classList.toggle('in-strip', inStrip);
    };
    main.forEach((tile, i) => place(tile, placed.main[i], false));
    strip.forEach((tile, i) => place(tile, placed.strip[i], true));
  }
}
