import { firstValueFrom, Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AffectEvent, AffectStreamEvent } from '../../protocol/affect-event.ts';
import { loadConfig } from '../../server/src/config.ts';
import { StreamEvents } from '../../server/src/events/StreamEvents.ts';
import type { Frame } from '../../server/src/media/Frame.ts';
import { analyseVideo, type OfflineFrame } from '../../server/src/offline/analyseVideo.ts';
import { VideoDecoder } from '../../server/src/offline/decodeVideo.ts';
import { createAffectInference } from '../../server/src/pipeline/affectInference.ts';
import { analyseStream, type AnalysedFrame } from '../../server/src/pipeline/analyseStream.ts';
import { configuredAnalysis } from '../../server/src/pipeline/configuredAnalysis.ts';
import { startVision } from '../../server/src/offline/startVision.ts';
import type { VisionWorkers } from '../../server/src/vision/VisionWorkers.ts';
import { faceVideoMp4 } from './media.ts';

const config = loadConfig({});
let workers: VisionWorkers;
let clip: string;
beforeAll(async () => {
  clip = await faceVideoMp4(4);
  workers = await startVision(config.vision, 2);
});
afterAll(() => workers.close());

/** The live path (latest-wins, one frame at a time), fed the same decoded frames one by one so that none is dropped. */
async function live(raw: boolean): Promise<AffectEvent[][]> {
  const { detector, model } = workers;
  const configured = configuredAnalysis(config.analysis, model.info);
  const frames = new Subject<Frame>();
  const results = new Subject<AnalysedFrame>();
  const sub = frames
    .pipe(analyseStream({ detector, inference: createAffectInference(model, {}), ...configured, smoothing: raw ? false : configured.smoothing }))
    .subscribe(results);
  const events = new StreamEvents({ roomId: 'recorded', peerId: 'live', producerId: 'video' }, model.info);
  const out: AffectEvent[][] = [];
  const decoder = new VideoDecoder({ input: clip, width: 640, height: 480, fps: 'all' });
  for await (const { index, pixels, sourceTimeMs } of decoder.frames()) {
    const next = firstValueFrom(results);
    frames.next({ roomId: 'recorded', peerId: 'live', streamId: 'video', seq: index, width: 640, height: 480, pixels, arrivalTime: sourceTimeMs, decodedTime: sourceTimeMs });
    out.push(events.fromFrame(await next, 0).filter((e): e is AffectEvent => e.type === 'affect'));
  }
  sub.unsubscribe();
  return out;
}

/** The offline path: every frame, several in flight (faces of several frames may share a model call, as timing has it). */
async function offline(raw: boolean): Promise<AffectEvent[][]> {
  const frames: OfflineFrame[] = [];
  const summary = await analyseVideo({
    input: clip,
    fps: 'all',
    raw,
    maxSide: 1920,
    inFlight: 8,
    detector: workers.detector,
    model: workers.model,
    analysis: config.analysis,
    sink: { frame: (f) => void frames.push(f), close: async () => {} },
  });
  expect(summary.outcome).toBe('complete');
  return frames.map((f) => f.events.filter((e: AffectStreamEvent): e is AffectEvent => e.type === 'affect'));
}

function largestDifference(a: AffectEvent[][], b: AffectEvent[][]) {
  let worst = 0;
  let flagsDiffer = 0;
  let flags = 0;
  a.forEach((faces, i) => {
    expect(b[i]!.map((f) => f.faceId)).toEqual(faces.map((f) => f.faceId));
    faces.forEach((x, j) => {
      const y = b[i]![j]!;
      const numbers = [
        [x.box.x, y.box.x], [x.box.y, y.box.y], [x.box.w, y.box.w], [x.box.h, y.box.h], [x.detScore, y.detScore],
        [x.valence, y.valence], [x.arousal, y.arousal],
        ...Object.keys(x.expression.probs).map((k) => [x.expression.probs[k]!, y.expression.probs[k]!]),
        ...Object.keys(x.aus).map((k) => [x.aus[k]!.p, y.aus[k]!.p]),
      ] as [number, number][];
      for (const [p, q] of numbers) worst = Math.max(worst, Math.abs(p - q));
      for (const k of Object.keys(x.aus)) {
        flags++;
        if (x.aus[k]!.active !== y.aus[k]!.active) flagsDiffer++;
      }
    });
  });
  return { worst, flagsDiffer, flags };
}

describe('analyse --raw against the live pipeline on the same frames (same detector, crops, tracker and model)', () => {
  let rawOffline: AffectEvent[][];
  it('finds the same faces on every frame and the same affect within 1e-4', async () => {
    const [offlineEvents, liveEvents] = [await offline(true), await live(true)];
    rawOffline = offlineEvents;
    expect(offlineEvents).toHaveLength(100);
    expect(liveEvents).toHaveLength(100);
    expect(offlineEvents.filter((f) => f.length > 0).length).toBeGreaterThanOrEqual(95);
    const { worst, flagsDiffer, flags } = largestDifference(offlineEvents, liveEvents);
    // Only the model's batch size differs (faces of several frames at once offline, one live): float rounding.
    expect(worst).toBeLessThan(1e-4);
    expect(flagsDiffer / flags).toBeLessThanOrEqual(0.01);
  });

  it('smoothed, the two agree as well (the smoothing runs on source time, not on how fast frames were analysed)', async () => {
    const smoothed = await offline(false);
    const { worst } = largestDifference(smoothed, await live(false));
    expect(worst).toBeLessThan(1e-4);
    // And --raw really is unsmoothed.
    expect(largestDifference(smoothed, rawOffline).worst).toBeGreaterThan(1e-2);
  });
});
