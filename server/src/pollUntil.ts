/** Resolves once `done()` holds or `timeoutMs` has passed, checking every `stepMs`: for bounded waits at shutdown. */
export async function pollUntil(done: () => boolean, timeoutMs: number, stepMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, stepMs));
}
