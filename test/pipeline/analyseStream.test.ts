import { map, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { analyseStream, type AnalysedFrame } from '../../server/src/pipeline/analyseStream.ts';
import { createMicroBatcher } from '../../server/src/pipeline/microBatch.ts';
import type { FaceInFrame } from '../../server/src/vision/FaceAligner.ts';
import type { AffectPrediction, FaceDetection } from '../../server/src/vision/types.ts';
import { face } from './faceFixtures.ts';
import { emptyFrame } from '../helpers/frames.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const frameAt = (seq: number, arrivalTime: number) => emptyFrame(seq, arrivalTime);

/** The fake model's answer for a face: its valence is where the face is, so a prediction paired with the wrong face shows. */
const predictionFor = (d: FaceDetection): AffectPrediction => ({
  valence: d.box.x / 1000,
  arousal: 0,
  expression: { label: 'neutral', probs: { neutral: 1 } },
  aus: {},
});

const A = face(150, 200);
const B = face(450, 200);

/**
 * analyseStream with a fake detector (`detections` per frame seq, answered after `detectTime`, or failing for
 * a seq listed in `failAt`) and the real micro-batcher around a fake model whose batches take `batchTime`.
 */
function harness(
  helpers: Pick<TestScheduler['run'] extends (cb: (h: infer H) => unknown) => unknown ? H : never, 'cold'>,
  scheduler: TestScheduler,
  detections: Record<number, FaceDetection[]>,
  { detectTime = '-(d|)', batchTime = '-(r|)', failAt = [] as number[] } = {},
) {
  const dropped: number[] = [];
  const failed: number[] = [];
  const batches: number[] = [];
  const inference = createMicroBatcher<FaceInFrame, AffectPrediction>(
    (items) => {
      batches.push(items.length);
      return helpers.cold(batchTime, { r: items.map((item) => predictionFor(item.detection)) });
    },
    { scheduler },
  );
  const analyse = analyseStream({
    detector: {
      detect: (frame) => (failAt.includes(frame.seq) ? throwError(() => new Error('detector fault')) : helpers.cold(detectTime, { d: detections[frame.seq] ?? [] })),
      detectRegions: () => throwError(() => new Error('no region tracking configured: never asked')),
    },
    inference,
    tracking: { minHits: 1, maxMissMs: 4 },
    onDrop: (frame) => dropped.push(frame.seq),
    onError: (_, frame) => failed.push(frame.seq),
    scheduler,
  });
  return { analyse, dropped, failed, batches };
}

/** What a test compares of an analysed frame: its seq, times, and each face's id, place and valence. */
const summary = (a: AnalysedFrame) => ({
  seq: a.frame.seq,
  times: [a.detectStart, a.detectEnd, a.inferEnd],
  faces: a.faces.map((f) => [f.id, f.detection.box.x, f.prediction.valence]),
  ended: a.ended,
});

const mapSummary = map(summary);

describe('analyseStream (fake detector, real micro-batcher)', () => {
  it('pairs every prediction with its own face, whatever order the detector lists them in, and drops stale frames', () => {
    const scheduler = testScheduler();
    scheduler.run((helpers) => {
      const { cold, expectObservable, flush } = helpers;
      // Both faces in every frame, listed in a different order in frame 1.
      const h = harness(helpers, scheduler, { 0: [A, B], 1: [B, A], 2: [A, B], 3: [A, B] });
      const frames = cold('a-b-cd|', { a: frameAt(0, 0), b: frameAt(1, 2), c: frameAt(2, 4), d: frameAt(3, 5) });
      // A frame takes 1 ms to detect and 1 ms per model call; the idle model takes the first face at once
      // (maxWaitMs 0), the second waits for it: 0 runs 0..3, 1 waits and runs 3..6, 2 waits and is replaced
      // by 3, which runs 6..9.
      const a = { 1: [1, 100, 0.1], 2: [2, 400, 0.4] };
      expectObservable(frames.pipe(h.analyse, mapSummary)).toBe('---x--y--(z|)', {
        x: { seq: 0, times: [0, 1, 3], faces: [a[1], a[2]], ended: [] },
        y: { seq: 1, times: [3, 4, 6], faces: [a[2], a[1]], ended: [] },
        z: { seq: 3, times: [6, 7, 9], faces: [a[1], a[2]], ended: [] },
      });
      flush();
      expect(h.dropped).toEqual([2]);
      expect(h.batches).toEqual([1, 1, 1, 1, 1, 1]);
    });
  });

  it('goes on after a frame whose detection failed, and ends the track of a face gone longer than maxMissMs', () => {
    const scheduler = testScheduler();
    scheduler.run((helpers) => {
      const { cold, expectObservable, flush } = helpers;
      const h = harness(helpers, scheduler, { 0: [A, B], 1: [A, B], 2: [A], 3: [A] }, { detectTime: '(d|)', batchTime: '(r|)', failAt: [1] });
      const frames = cold('a-b-c---d|', { a: frameAt(0, 0), b: frameAt(1, 2), c: frameAt(2, 4), d: frameAt(3, 8) });
      expectObservable(frames.pipe(h.analyse, mapSummary)).toBe('x---y---z|', {
        x: { seq: 0, times: [0, 0, 0], faces: [[1, 100, 0.1], [2, 400, 0.4]], ended: [] },
        // B was last seen at 0: at 4 it may still come back (4 ms), at 8 its track is over.
        y: { seq: 2, times: [4, 4, 4], faces: [[1, 100, 0.1]], ended: [] },
        z: { seq: 3, times: [8, 8, 8], faces: [[1, 100, 0.1]], ended: [2] },
      });
      flush();
      expect(h.failed).toEqual([1]);
    });
  });
});
