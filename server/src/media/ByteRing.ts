/**
 * Bytes queued first in, first out, in a ring that is grown only when they do not fit: bytes are copied in once and
 * out once, never moved as others are taken, and memory is touched only as far as the queue has ever reached (every
 * fresh page costs a fault on first write).
 */
export class ByteRing {
  #ring: Uint8Array;
  /** Where the oldest byte is. */
  #start = 0;
  #length = 0;

  constructor(initialCapacity: number) {
    this.#ring = new Uint8Array(initialCapacity);
  }

  /** Bytes queued. */
  get length(): number {
    return this.#length;
  }

  get capacity(): number {
    return this.#ring.length;
  }

  write(bytes: Uint8Array): void {
    if (this.#length + bytes.length > this.#ring.length) this.#grow(this.#length + bytes.length);
    const end = (this.#start + this.#length) % this.#ring.length;
    const first = Math.min(bytes.length, this.#ring.length - end);
    this.#ring.set(first === bytes.length ? bytes : bytes.subarray(0, first), end);
    if (first < bytes.length) this.#ring.set(bytes.subarray(first), 0);
    this.#length += bytes.length;
  }

  /** Moves the oldest `target.length` bytes into `target`; there must be that many. */
  read(target: Uint8Array): void {
    if (target.length > this.#length) throw new RangeError(`read of ${target.length} bytes from a ring holding ${this.#length}`);
    this.#copyOut(target);
    this.#start = (this.#start + target.length) % this.#ring.length;
    this.#length -= target.length;
  }

  /** The oldest `target.length` bytes into `target`, in order, across the ring's end. */
  #copyOut(target: Uint8Array): void {
    const first = Math.min(target.length, this.#ring.length - this.#start);
    target.set(this.#ring.subarray(this.#start, this.#start + first));
    if (first < target.length) target.set(this.#ring.subarray(0, target.length - first), first);
  }

  #grow(bytes: number): void {
    const grown = new Uint8Array(Math.max(bytes, 2 * this.#ring.length));
    this.#copyOut(grown.subarray(0, this.#length));
    this.#ring = grown;
    this.#start = 0;
  }
}
