/**
 * Decides which frames of a stream to keep so that at most `fps` frames per second pass, spread evenly.
 * Keeps a frame when it is at or after the next due time; the due time advances by one interval from the
 * previous due time (not from the frame), so a 20 fps source thinned to 15 fps really delivers 15.
 */
export function createFrameRateLimiter(fps: number): (timeMs: number) => boolean {
  const interval = 1000 / fps;
  // A little slack so that jitter in arrival times does not drop a frame that is essentially on time.
  const tolerance = interval * 0.1;
  let due = Number.NEGATIVE_INFINITY;
  return (timeMs) => {
    if (timeMs < due - tolerance) return false;
    // After a gap (pause, stall), restart the grid from this frame instead of letting a burst through.
    due = timeMs - due > 2 * interval ? timeMs + interval : due + interval;
    return true;
  };
}
