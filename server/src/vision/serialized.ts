/**
 * Wraps an async function so calls run one after another, in call order. Vision reuses its tensor buffers
 * across calls (no allocation per frame), so a call must not start filling a buffer that a running inference
 * still reads. A failed call does not block the ones queued after it.
 */
export function serialized<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  let tail: Promise<unknown> = Promise.resolve();
  return (...args) => {
    const result = tail.then(() => fn(...args));
    tail = result.catch(() => undefined);
    return result;
  };
}
