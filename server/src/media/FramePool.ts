/**
 * Frame buffers in shared memory, reused from frame to frame. A vision worker reads a frame in shared memory where
 * it lies, so a detection request costs no copy of the frame (see VisionWorkers); and a reused buffer costs no
 * allocation. Both matter more than the bytes suggest: a fresh megabyte costs page faults on first write, a fresh
 * SharedArrayBuffer several times more, and every buffer allocated counts towards V8's next full collection (at 16
 * live streams, fresh frame buffers and their copies drove a mark-compact about every quarter second).
 *
 * A buffer comes back with `give` once nothing reads its frame any more. One that never comes back (a frame nobody
 * analysed) is simply collected; the pool allocates another. The pool keeps at most as many buffers of a size as
 * were ever out at once, and never more than `maxFree`.
 */
export class FramePool {
  readonly #free = new Map<number, Uint8Array[]>();
  /** The buffers on a free list: a frame given back twice must not be handed out twice. */
  readonly #isFree = new WeakSet<Uint8Array>();
  #freeCount = 0;

  constructor(readonly maxFree = 64) {}

  take(bytes: number): Uint8Array {
    const pixels = this.#free.get(bytes)?.pop();
    if (!pixels) return new Uint8Array(new SharedArrayBuffer(bytes));
    this.#isFree.delete(pixels);
    this.#freeCount--;
    return pixels;
  }

  /** Nothing reads `pixels` any more (its frame's analysis is over or was dropped): a later frame may be decoded into it. */
  give(pixels: Uint8Array): void {
    if (!(pixels.buffer instanceof SharedArrayBuffer) || pixels.byteOffset !== 0 || pixels.byteLength !== pixels.buffer.byteLength) return;
    if (this.#isFree.has(pixels) || this.#freeCount >= this.maxFree) return;
    const list = this.#free.get(pixels.byteLength);
    if (list) list.push(pixels);
    else this.#free.set(pixels.byteLength, [pixels]);
    this.#isFree.add(pixels);
    this.#freeCount++;
  }
}
