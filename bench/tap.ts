/**
 * The frame tap, end to end with a real browser: join -> first decoded frame, frames/s delivered,
 * and latency from the sender's capture (a timestamp drawn into the pixels) to the decoded frame in Node.
 *   npm run bench:tap [-- --seconds 15 --joins 3]
 */
import { parseArgs } from 'node:util';
import { filter, firstValueFrom, takeUntil, timer, toArray } from 'rxjs';
import { joinCall, launchBrowser } from '../test/helpers/browser.ts';
import { faceVideoY4m } from '../test/helpers/faceVideo.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { describeMachine, writeResults } from './lib/report.ts';
import { fmt, median, quantile } from './lib/stats.ts';
import { readTimestampBar, timestampBarInitScript } from './lib/timestampBar.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '15' }, joins: { type: 'string', default: '3' }, json: { type: 'string' } },
});
const seconds = Number(values.seconds);

// The tap alone: analysis would compete with the browsers for the cores.
const app = await startTestServer({ ANALYSIS_ENABLED: 'false' });
const browser = await launchBrowser(await faceVideoY4m());
await browser.addInitScript(timestampBarInitScript);

const firstFrameMs: number[] = [];
for (let i = 0; i < Number(values.joins); i++) {
  const page = await browser.newPage();
  const firstFrame = firstValueFrom(app.taps!.frames$);
  const start = Date.now();
  await joinCall(page, app.url, `bench-${i}`, 'Bench');
  await firstFrame;
  firstFrameMs.push(Date.now() - start);
  if (i < Number(values.joins) - 1) await page.close();
}

const frames = await firstValueFrom(app.taps!.frames$.pipe(filter(() => true), takeUntil(timer(seconds * 1000)), toArray()));
const glassToNode: number[] = [];
const arrivalToNode: number[] = [];
const glassToArrival: number[] = [];
for (const frame of frames) {
  const sent = readTimestampBar(frame.pixels, frame.width, frame.height, frame.decodedTime);
  if (sent === undefined) continue;
  glassToNode.push(frame.decodedTime - sent);
  glassToArrival.push(frame.arrivalTime - sent);
  arrivalToNode.push(frame.decodedTime - frame.arrivalTime);
}
await browser.close();
await app.close();

console.log(describeMachine());
console.log(`join -> first decoded frame, ms (median of ${firstFrameMs.length}): ${fmt(median(firstFrameMs), 0)}  [${firstFrameMs.join(', ')}]`);
console.log(`frames delivered: ${frames.length} in ${seconds} s = ${fmt(frames.length / seconds)} fps (TAP_FPS default 15), bar read in ${glassToNode.length}`);
console.log('latency, ms              p50     p95');
for (const [name, xs] of [
  ['sender capture -> decoded', glassToNode],
  ['sender capture -> RTP arrival', glassToArrival],
  ['RTP arrival -> decoded', arrivalToNode],
] as const) {
  console.log(`${name.padEnd(30)} ${fmt(median(xs)).padStart(6)}  ${fmt(quantile(xs, 0.95)).padStart(6)}`);
}
const latency = (xs: number[]) => ({ p50: median(xs), p95: quantile(xs, 0.95) });
writeResults(values.json, 'tap', {
  joinToFirstFrameMs: { median: median(firstFrameMs), all: firstFrameMs },
  fps: frames.length / seconds,
  latencyMs: { captureToDecoded: latency(glassToNode), captureToArrival: latency(glassToArrival), arrivalToDecoded: latency(arrivalToNode) },
});
