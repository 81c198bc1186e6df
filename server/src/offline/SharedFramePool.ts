/**
 * Frame buffers in shared memory, reused across the frames of one recorded source. A vision worker reads a frame
 * in shared memory where it lies, so a detection request costs no copy of the frame (see VisionWorkers); and a
 * reused buffer costs no allocation: a fresh megabyte costs page faults on first write, and a fresh
 * SharedArrayBuffer several times more. The pool holds at most as many buffers as were ever taken at once, which
 * the analysis bounds by its frames in flight.
 */
export class SharedFramePool {
  readonly #free: Uint8Array[] = [];

  constructor(readonly bytes: number) {}

  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(new SharedArrayBuffer(this.bytes));
  }

  /** The buffer is read by nothing any more (its frame's analysis is over): the next frame may be decoded into it. */
  give(pixels: Uint8Array): void {
    if (pixels.buffer instanceof SharedArrayBuffer && pixels.byteLength === this.bytes && !this.#free.includes(pixels)) this.#free.push(pixels);
  }
}
