/**
 * An ffmpeg filter that passes at most `fps` frames per second, spread evenly, deciding on each frame as it
 * comes (ffmpeg's `fps` filter waits for the next frame before it outputs one: a frame interval of latency).
 * Frames dropped here are never scaled, converted to RGB or piped to Node.
 *
 * A frame is kept when its time is at or after the next due time (less 10% of an interval, so jitter does
 * not drop a frame that is essentially on time). The due time advances by one interval from the previous due
 * time, not from the frame, so a 20 fps source thinned to 15 fps really delivers 15; after a gap (pause,
 * stall) the grid restarts from the next frame instead of letting a burst through. A frame without a time
 * is kept.
 */
export function frameRateFilter(fps: number): string {
  const interval = 1 / fps;
  const tolerance = interval * 0.1;
  // ld(0)/st(0,...): the due time, kept by the expression between frames; st() returns what it stores.
  const nextDue = `if(gt(t-ld(0),${2 * interval}),t+${interval},ld(0)+${interval})`;
  return `select='if(isnan(t),1,if(gte(t,ld(0)-${tolerance}),st(0,${nextDue})+1,0))'`;
}
