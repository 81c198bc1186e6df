import { of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { detectFaces, type DetectedFrame, type Detector } from '../../server/src/pipeline/detectFaces.ts';
import { DEFAULT_REGION_TRACKING, type RegionTrackingOptions } from '../../server/src/pipeline/regionTracking.ts';
import type { Box, FaceDetection, RgbImage } from '../../server/src/vision/types.ts';
import { face } from './faceFixtures.ts';
import { emptyFrame } from '../helpers/frames.ts';
import { paintBlock, texturedImage } from '../helpers/scenes.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const frameAt = (seq: number) => emptyFrame(seq);

const centre = (b: Box) => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });
const inside = (p: { x: number; y: number }, r: Box) => p.x >= r.x && p.x <= r.x + r.width && p.y >= r.y && p.y <= r.y + r.height;

/**
 * A fake detector over a scene (the faces in each frame, by seq) that behaves as the real one does: a full search
 * finds every face scoring at least 0.5 (full: 3 ms of its own time); a region search (1 ms a region) finds the face
 * whose centre lies in the region nearest its centre, whatever its score, or nothing.
 */
function sceneDetector(scene: (seq: number) => FaceDetection[]): Detector {
  return {
    detect: (frame, timings) => {
      if (timings) Object.assign(timings, { letterbox: 0, detect: 3, decode: 0 });
      return of(scene(frame.seq).filter((f) => f.score >= 0.5));
    },
    detectRegions: (frame, regions, timings) => {
      if (timings) Object.assign(timings, { letterbox: 0, detect: regions.length, decode: 0 });
      return of(
        regions.map((r) => {
          const c = centre(r);
          const near = scene(frame.seq)
            .filter((f) => inside(centre(f.box), r))
            .sort((p, q) => Math.hypot(centre(p.box).x - c.x, centre(p.box).y - c.y) - Math.hypot(centre(q.box).x - c.x, centre(q.box).y - c.y));
          return near[0] ?? null;
        }),
      );
    },
  };
}

const letters = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + i));

/**
 * Frame i arrives at i ms (marble 'abc...|'); the full-search interval is 4 ms, searched on schedule whatever the
 * picture (stillIntervalMs 0) and faces never held (maxHeld 0) unless `regions` says otherwise; `regions` 'off': no region tracking; `picture`: frame
 * i's pixels (none by default). Per frame: its mode, its faces (x of each box centre) and the detector's own time.
 */
function run(
  scene: (seq: number) => FaceDetection[],
  frameCount: number,
  regions: Partial<RegionTrackingOptions> | 'off' = {},
  picture?: (seq: number) => RgbImage,
) {
  const results: [string, number[], number][] = [];
  testScheduler().run(({ cold, flush }) => {
    const frame = (i: number) => ({ ...frameAt(i), ...picture?.(i) });
    const frames = cold(`${letters(frameCount).join('')}|`, Object.fromEntries(letters(frameCount).map((l, i) => [l, frame(i)])));
    frames
      .pipe(
        detectFaces<DetectedFrame>({
          detector: sceneDetector(scene),
          regions: regions === 'off' ? undefined : { ...DEFAULT_REGION_TRACKING, fullIntervalMs: 4, stillIntervalMs: 0, maxHeld: 0, ...regions },
          then: (d) => of(d),
        }),
      )
      .subscribe((d) => results.push([d.mode, d.detections.map((f) => centre(f.box).x), d.detectorMs]));
    flush();
  });
  return results;
}

const A = face(150, 200);
const B = face(450, 200);

describe('detectFaces: region-of-interest tracking (fake detector)', () => {
  it('searches the whole frame on the schedule and, between, only the region around each known face', () => {
    expect(run(() => [A, B], 9)).toEqual([
      ['full', [150, 450], 3],
      ['regions', [150, 450], 2],
      ['regions', [150, 450], 2],
      ['regions', [150, 450], 2],
      ['full', [150, 450], 3],
      ['regions', [150, 450], 2],
      ['regions', [150, 450], 2],
      ['regions', [150, 450], 2],
      ['full', [150, 450], 3],
    ]);
  });

  it('finds a face that walks in at the next scheduled full search, within the interval', () => {
    const modes = run((seq) => (seq >= 1 ? [A, B] : [A]), 7);
    expect(modes.map(([mode, xs]) => [mode, xs.length])).toEqual([
      ['full', 1],
      ['regions', 1],
      ['regions', 1],
      ['regions', 1],
      ['full', 2],
      ['regions', 2],
      ['regions', 2],
    ]);
  });

  describe('a still picture', () => {
    const still = texturedImage(640, 480);
    // B's face comes into the picture from frame 5 on: a block where it is.
    const withB = paintBlock(still, B.box, 230);
    const walkIn = (seq: number) => (seq >= 5 ? [A, B] : [A]);

    it('skips the scheduled full searches while nothing changes outside the known faces, up to stillIntervalMs', () => {
      const modes = run(() => [A], 14, { stillIntervalMs: 10 }, () => still).map(([mode]) => mode);
      // Due from 4 on, skipped (still); at 10 the last full search is stillIntervalMs old: searched anyway.
      expect(modes).toEqual(['full', ...Array(9).fill('regions'), 'full', 'regions', 'regions', 'regions']);
    });

    it('searches on schedule once the picture changed outside the known faces: a face walking in is found as soon', () => {
      const gated = run(walkIn, 9, { stillIntervalMs: 1000 }, (seq) => (seq >= 5 ? withB : still));
      const scheduled = run(walkIn, 9, { stillIntervalMs: 0 }, (seq) => (seq >= 5 ? withB : still));
      const summary = (r: typeof gated) => r.map(([mode, xs]) => [mode, xs.length]);
      // Frame 4: due, still: skipped; frame 5: due, changed: searched, B found. On schedule, B waits for frame 8.
      expect(summary(gated)).toEqual([['full', 1], ['regions', 1], ['regions', 1], ['regions', 1], ['regions', 1], ['full', 2], ['regions', 2], ['regions', 2], ['regions', 2]]);
      expect(summary(scheduled)).toEqual([['full', 1], ['regions', 1], ['regions', 1], ['regions', 1], ['full', 1], ['regions', 1], ['regions', 1], ['regions', 1], ['full', 2]]);
    });

    it('holds still faces where they were for maxHeld frames in a row, then searches their regions again', () => {
      const results = run(() => [A], 9, { maxHeld: 2 }, () => still);
      expect(results.map(([mode]) => mode)).toEqual(['full', 'held', 'held', 'regions', 'full', 'held', 'held', 'regions', 'full']);
      // A held frame has the faces of the search before it, and costs the detector nothing.
      expect(results[1]).toEqual(['held', [150], 0]);
    });

    it('searches a face that moved (its cells changed) instead of holding it', () => {
      const moving = (seq: number) => paintBlock(still, { x: 100 + 10 * seq, y: 150, width: 100, height: 100 }, 240);
      expect(run(() => [A], 5, { maxHeld: 2 }, moving).map(([mode]) => mode)).toEqual(['full', 'regions', 'regions', 'regions', 'full']);
    });

    it('is not fooled by change inside a known face region: the face may move and talk', () => {
      const talking = (seq: number) => paintBlock(still, { x: 120, y: 220, width: 60, height: 30 }, seq % 2 ? 250 : 20);
      expect(run(() => [A], 9, { stillIntervalMs: 1000 }, talking).map(([mode]) => mode)).toEqual(['full', ...Array(8).fill('regions')]);
    });
  });

  it('searches the whole frame at once for a face that left, and then nothing until the schedule', () => {
    expect(run((seq) => (seq < 2 ? [A] : []), 7).map(([mode, xs]) => [mode, xs])).toEqual([
      ['full', [150]],
      ['regions', [150]],
      ['regions+full', []],
      ['none', []],
      ['none', []],
      ['none', []],
      ['full', []],
    ]);
  });

  it('follows a scene cut: the old face is not found again, the whole frame is searched and the new face tracked', () => {
    expect(run((seq) => (seq < 2 ? [A] : [B]), 5).map(([mode, xs]) => [mode, xs])).toEqual([
      ['full', [150]],
      ['regions', [150]],
      ['regions+full', [450]],
      ['regions', [450]],
      ['regions', [450]],
    ]);
  });

  it('searches the whole frame when a face moved out of its region (a fast head turn or step)', () => {
    // 120 px in one frame: the region (200 px around a 100 px face) no longer holds its centre.
    expect(run((seq) => [seq < 2 ? A : face(270, 200)], 3).map(([mode, xs]) => [mode, xs])).toEqual([
      ['full', [150]],
      ['regions', [150]],
      ['regions+full', [270]],
    ]);
  });

  it('searches the whole frame when a known face is found again with too little confidence', () => {
    const doubtful = face(150, 200, 100, 0.6);
    expect(run((seq) => [seq === 2 ? doubtful : A], 4, { minRegionScore: 0.7 })).toEqual([
      ['full', [150], 3],
      ['regions', [150], 1],
      ['regions+full', [150], 4],
      // The full search at 2 restarted the schedule.
      ['regions', [150], 1],
    ]);
  });

  it('searches the whole frame when two regions found the same face (one of two close faces left)', () => {
    const near = face(230, 200);
    expect(run((seq) => (seq < 2 ? [A, near] : [A]), 3).map(([mode, xs]) => [mode, xs])).toEqual([
      ['full', [150, 230]],
      ['regions', [150, 230]],
      ['regions+full', [150]],
    ]);
  });

  it('searches the whole frame every time with more known faces than maxRegions, or without region tracking', () => {
    const crowd = [face(100, 100), face(300, 100), face(500, 100)];
    expect(run(() => crowd, 3, { maxRegions: 2 }).map(([mode]) => mode)).toEqual(['full', 'full', 'full']);
    expect(run(() => [A], 3, 'off').map(([mode]) => mode)).toEqual(['full', 'full', 'full']);
  });

  it('keeps up where a full search every frame drops frames: regions are quicker, and latest wins meanwhile', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // Searching the whole frame takes 3 ms, a region 1 ms; a frame arrives every 2 ms.
      const detector: Detector = {
        detect: () => cold('---(d|)', { d: [A] }),
        detectRegions: () => cold('-(d|)', { d: [A] }),
      };
      const values = Object.fromEntries(letters(5).map((l, i) => [l, { ...frameAt(i), arrivalTime: 2 * i }]));
      const analyse = (regions: RegionTrackingOptions | undefined) =>
        cold('a-b-c-d-e|', values).pipe(detectFaces({ detector, regions, then: (d) => of(d.frame.seq) }));
      // Whole frames: 0 runs 0..3; 1 waits and runs 3..6; 2 waits, 3 replaces it and runs 6..9; 4 runs 9..12.
      expectObservable(analyse(undefined)).toBe('---a--b--d--(e|)', { a: 0, b: 1, d: 3, e: 4 });
      // Regions (a full search due again at 10 ms): after the first frame's full search, every frame is done
      // before the next arrives, none dropped.
      expectObservable(analyse({ ...DEFAULT_REGION_TRACKING, fullIntervalMs: 10, stillIntervalMs: 0, maxHeld: 0 })).toBe('---abc-d-(e|)', { a: 0, b: 1, c: 2, d: 3, e: 4 });
    });
  });
});
