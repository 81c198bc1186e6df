/**
 * Quality of region-of-interest tracking (VISION_TRACKING=roi) against detecting every frame (off), both run
 * side by side through the pipeline's own operators (analyseStream: detection, the shipped model, tracking,
 * smoothing) on the same frames, offline at 10 fps (frame i stamped i * 100 ms).
 *   npm run bench:tracking [-- --seconds 10] [--json file]   (--seconds up to 53: the face video's length)
 * - face video (test/helpers/faceVideo.ts), 640x480: face recall (faces of the detect-every-frame run matched,
 *   IoU > 0.5, by a tracked-mode face), box IoU of matched faces (median, 5th percentile), expression agreement,
 *   |dV| and |dA| (medians and p95, smoothed outputs as events carry them), the detector's own ms per frame;
 * - the call page's half-size simulcast layer (320x240 VP8, 12.5 fps, the layer the tap decodes) against the full
 *   layer (640x480 VP8), both tracked: the same numbers, the half-size boxes scaled up;
 * - the Solvay 1927 photo (29 faces) repeated: the same, with the default 4-region limit (whole frame each time)
 *   and with regions forced for every face;
 * - a face walking in: the Grace Hopper fixture pasted into the face video from frame k on (k = 20 on, every
 *   phase of the 400 ms schedule): time from its first frame to its first event, both modes.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Subject, firstValueFrom } from 'rxjs';
import { loadConfig } from '../server/src/config.ts';
import type { Frame } from '../server/src/media/Frame.ts';
import { createAffectInference } from '../server/src/pipeline/affectInference.ts';
import { analyseStream, type AnalysedFrame } from '../server/src/pipeline/analyseStream.ts';
import { boxIoU } from '../server/src/vision/boxIoU.ts';
import { DEFAULT_REGION_TRACKING, type RegionTrackingOptions } from '../server/src/pipeline/regionTracking.ts';
import { createFaceDetector, createSessionFactory, loadAffectModel, type Box, type RgbImage } from '../server/src/vision/index.ts';
import { loadImage } from '../models/scripts/image.ts';
import { faceVideoY4m } from '../test/helpers/faceVideo.ts';
import { describeMachine, writeResults } from './lib/report.ts';
import { rgbFrames } from './lib/rgbFrames.ts';
import { faceVideoVp8, faceVideoVp8HalfLayer } from './lib/rtpReplay.ts';
import { fmt, median, quantile } from './lib/stats.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, json: { type: 'string' } } });
const FRAME_MS = 100;
const config = loadConfig();
const sessions = createSessionFactory({ provider: config.vision.provider, log: () => {} });
const detector = await createFaceDetector({ sessions, model: config.vision.detectorModel, minScore: config.vision.detectorMinScore });
const model = await loadAffectModel(config.vision.affectModelPath, { sessions });
/** Region tracking as the server is configured (VISION_FULL_DETECT_INTERVAL_MS applies), the defaults otherwise. */
const TRACKING: RegionTrackingOptions = { ...DEFAULT_REGION_TRACKING, ...config.analysis.regionTracking };
const fixture = (name: string) => fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url));

/** Every image through one fresh per-stream pipeline, one frame at a time (nothing dropped). */
async function analyse(images: readonly RgbImage[], regions: RegionTrackingOptions | undefined): Promise<AnalysedFrame[]> {
  const inference = createAffectInference(model, {});
  const frames = new Subject<Frame>();
  const results = new Subject<AnalysedFrame>();
  const sub = frames.pipe(analyseStream({ detector, inference, regions, tracking: config.analysis.tracking })).subscribe(results);
  const out: AnalysedFrame[] = [];
  for (const [i, image] of images.entries()) {
    const next = firstValueFrom(results);
    const t = i * FRAME_MS;
    frames.next({ ...image, roomId: 'bench', peerId: 'p', streamId: 's', seq: i, arrivalTime: t, decodedTime: t });
    out.push(await next);
  }
  sub.unsubscribe();
  return out;
}

interface Comparison {
  referenceFaces: number;
  recall: number;
  iou: { median: number; p5: number };
  expressionAgreement: number;
  dV: { median: number; p95: number };
  dA: { median: number; p95: number };
  detectorMsPerFrame: { off: number; roi: number };
  modes: Record<string, number>;
}

/** `roi`'s faces against `off`'s, frame by frame; `scale` takes `roi`'s boxes into `off`'s pixels (a smaller frame). */
function compare(off: AnalysedFrame[], roi: AnalysedFrame[], scale = 1): Comparison {
  const ious: number[] = [];
  const dV: number[] = [];
  const dA: number[] = [];
  let reference = 0;
  let agree = 0;
  off.forEach((frame, i) => {
    for (const face of frame.faces) {
      reference++;
      const best = roi[i]!.faces
        .map((f) => ({ f, iou: boxIoU(scaled(f.detection.box, scale), face.detection.box) }))
        .sort((a, b) => b.iou - a.iou)[0];
      if (!best || best.iou <= 0.5) continue;
      ious.push(best.iou);
      dV.push(Math.abs(best.f.prediction.valence - face.prediction.valence));
      dA.push(Math.abs(best.f.prediction.arousal - face.prediction.arousal));
      if (best.f.prediction.expression.label === face.prediction.expression.label) agree++;
    }
  });
  const modes: Record<string, number> = {};
  for (const f of roi) modes[f.detectMode] = (modes[f.detectMode] ?? 0) + 1;
  const perFrame = (frames: AnalysedFrame[]) => frames.reduce((s, f) => s + f.detectorMs, 0) / frames.length;
  return {
    referenceFaces: reference,
    recall: ious.length / Math.max(1, reference),
    iou: { median: median(ious), p5: quantile(ious, 0.05) },
    expressionAgreement: agree / Math.max(1, ious.length),
    dV: { median: median(dV), p95: quantile(dV, 0.95) },
    dA: { median: median(dA), p95: quantile(dA, 0.95) },
    detectorMsPerFrame: { off: perFrame(off), roi: perFrame(roi) },
    modes,
  };
}

const scaled = (b: Box, k: number): Box => ({ x: b.x * k, y: b.y * k, width: b.width * k, height: b.height * k });

/** A video's frames at the analysis rate and the given size, cut to --seconds. */
async function framesOf(file: string, width: number, height: number): Promise<RgbImage[]> {
  const frames: RgbImage[] = [];
  for await (const image of rgbFrames(file, { fps: 1000 / FRAME_MS, width, height })) {
    frames.push(image);
    if (frames.length >= seconds * (1000 / FRAME_MS)) break;
  }
  return frames;
}

// The clip is cut to the length asked for (the source talking head runs 53 s); 10 s is the tests' clip.
const seconds = Number(values.seconds);
const video = await framesOf(await faceVideoY4m(seconds), 640, 480);
const solvay = loadImage(fixture('solvay1927.jpg'));
const group = Array.from({ length: 20 }, () => solvay);

const sections: Record<string, Comparison> = {};
sections['face video'] = compare(await analyse(video, undefined), await analyse(video, TRACKING));
// What analysing the call page's half-size simulcast layer costs: both layers as VP8 at the page's bitrates, both
// tracked (roi); "off" in the table is the full layer, "roi" the half-size one.
const fullLayer = await framesOf(await faceVideoVp8(seconds), 640, 480);
const halfLayer = await framesOf(await faceVideoVp8HalfLayer(seconds), 320, 240);
sections['half-size layer (roi) against the full layer (roi)'] = compare(
  await analyse(fullLayer, TRACKING),
  await analyse(halfLayer, TRACKING),
  640 / 320,
);
const groupOff = await analyse(group, undefined);
sections['group photo'] = compare(groupOff, await analyse(group, TRACKING));
sections['group photo, regions forced'] = compare(groupOff, await analyse(group, { ...TRACKING, maxRegions: Infinity }));

/** The face video with Grace Hopper's head (the fixture's 300x320 px around her face, halved) pasted into its lower right from frame `from` on. */
const hopper = loadImage(fixture('grace_hopper.jpg'));
function walkIn(from: number): RgbImage[] {
  const [sx, sy, w, h, x0, y0] = [120, 80, 150, 160, 470, 300];
  return video.slice(0, from + 15).map((image, i) => {
    if (i < from) return image;
    const pixels = new Uint8Array(image.pixels);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = ((sy + 2 * y) * hopper.width + sx + 2 * x) * 3;
        pixels.set(hopper.pixels.subarray(src, src + 3), ((y0 + y) * image.width + x0 + x) * 3);
      }
    }
    return { ...image, pixels };
  });
}
const pickup: { from: number; offMs: number; roiMs: number }[] = [];
// Every phase of the full-search schedule.
for (let from = 20; from < 20 + Math.max(1, Math.round(TRACKING.fullIntervalMs / FRAME_MS)); from++) {
  const images = walkIn(from);
  const firstEventMs = (frames: AnalysedFrame[]) => {
    const i = frames.findIndex((f, n) => n >= from && f.faces.some((face) => face.detection.box.x > 440 && face.detection.box.y > 270));
    return i < 0 ? Number.NaN : (i - from) * FRAME_MS;
  };
  pickup.push({ from, offMs: firstEventMs(await analyse(images, undefined)), roiMs: firstEventMs(await analyse(images, TRACKING)) });
}

console.log(describeMachine());
console.log(`detector ${config.vision.detectorModel} (regions: front128); frames at ${1000 / FRAME_MS} fps; tracked mode: full search every ${TRACKING.fullIntervalMs} ms, regions ${TRACKING.regionScale}x the face`);
console.log('| frames | faces (off) | recall | IoU median / p5 | expression agreement | |dV| median / p95 | |dA| median / p95 | detector ms/frame off -> roi | roi frames by mode |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const [name, c] of Object.entries(sections)) {
  console.log(
    `| ${name} | ${c.referenceFaces} | ${fmt(c.recall, 3)} | ${fmt(c.iou.median, 3)} / ${fmt(c.iou.p5, 3)} | ${fmt(c.expressionAgreement, 3)} | ` +
      `${fmt(c.dV.median, 3)} / ${fmt(c.dV.p95, 3)} | ${fmt(c.dA.median, 3)} / ${fmt(c.dA.p95, 3)} | ` +
      `${fmt(c.detectorMsPerFrame.off, 2)} -> ${fmt(c.detectorMsPerFrame.roi, 2)} (${fmt(c.detectorMsPerFrame.off / c.detectorMsPerFrame.roi, 1)}x) | ` +
      `${Object.entries(c.modes).map(([m, n]) => `${m} ${n}`).join(', ')} |`,
  );
}
console.log(`new face walking in (frame k = ${pickup.map((p) => p.from).join(', ')}): first frame -> first event, ms: off ${pickup.map((p) => p.offMs).join(', ')}; roi ${pickup.map((p) => p.roiMs).join(', ')}`);
writeResults(values.json, 'tracking', { frameMs: FRAME_MS, regionTracking: TRACKING, sections, pickup });
await detector.release();
await model.release();
