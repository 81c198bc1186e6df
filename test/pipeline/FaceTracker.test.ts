import { describe, expect, it } from 'vitest';
import { FaceTracker, type FaceTrackerOptions, type TrackerUpdate } from '../../server/src/pipeline/FaceTracker.ts';
import type { FaceDetection } from '../../server/src/vision/types.ts';
import { face, random } from './faceFixtures.ts';

const PERIOD = 66; // 15 fps

interface Found {
  detection: FaceDetection;
}

/** The tracker over bare detections, as a detection-only pipeline uses it. */
function detectionTracker(options?: FaceTrackerOptions) {
  const tracker = new FaceTracker<Found>(options);
  return { update: (detections: FaceDetection[], timeMs: number) => tracker.update(detections.map((detection) => ({ detection })), timeMs) };
}
type DetectionTracker = ReturnType<typeof detectionTracker>;

/** Feeds one list of detections per frame, PERIOD ms apart from `startMs`; returns every update. */
function run(tracker: DetectionTracker, frames: FaceDetection[][], startMs = 0): TrackerUpdate<Found>[] {
  return frames.map((detections, i) => tracker.update(detections, startMs + i * PERIOD));
}

const ids = (u: TrackerUpdate<Found>) => u.faces.map((f) => f.id);

describe('FaceTracker', () => {
  it('confirms a face after minHits consecutive detections and keeps its id', () => {
    const updates = run(detectionTracker({ minHits: 3 }), Array.from({ length: 5 }, () => [face(200, 200)]));
    expect(updates.map(ids)).toEqual([[], [], [1], [1], [1]]);
    expect(updates[2]!.faces[0]!.detection).toEqual(face(200, 200));
  });

  it('tracks anything with a detection, keeping its other fields', () => {
    const tracker = new FaceTracker<{ detection: FaceDetection; label: string }>({ minHits: 1 });
    expect(tracker.update([{ detection: face(200, 200), label: 'a' }], 0).faces).toEqual([{ id: 1, detection: face(200, 200), label: 'a' }]);
  });

  it('confirms at once with minHits 1', () => {
    expect(ids(detectionTracker({ minHits: 1 }).update([face(200, 200)], 0))).toEqual([1]);
  });

  it('drops a tentative track at its first miss, silently, without using up an id', () => {
    const tracker = detectionTracker({ minHits: 3 });
    const blip = face(500, 100);
    const updates = run(tracker, [[blip], [blip], [], [face(200, 200)], [face(200, 200)], [face(200, 200)]]);
    expect(updates.flatMap((u) => u.ended)).toEqual([]);
    expect(updates.map(ids)).toEqual([[], [], [], [], [], [1]]);
  });

  it('keeps one id for a jittery steady face with occasional missed detections', () => {
    const next = random(7);
    const jitter = (amount: number) => (next() - 0.5) * 2 * amount;
    const frames = Array.from({ length: 300 }, (_, i) =>
      i % 9 === 4 ? [] : [face(320 + jitter(6), 240 + jitter(6), 110 + jitter(6), 0.8 + jitter(0.1))],
    );
    const updates = run(detectionTracker(), frames);
    const seen = new Set(updates.flatMap(ids));
    expect([...seen]).toEqual([1]);
    expect(updates.flatMap((u) => u.ended)).toEqual([]);
    // Every frame with a detection after confirmation reports the face.
    expect(updates.slice(3).filter((u, i) => frames[i + 3]!.length > 0 && u.faces.length !== 1)).toEqual([]);
  });

  it('keeps a face through missed frames shorter than maxMissMs', () => {
    const tracker = detectionTracker({ maxMissMs: 500 });
    run(tracker, [[face(200, 200)], [face(200, 200)], [face(200, 200)]]);
    expect(tracker.update([], 300)).toEqual({ faces: [], ended: [] });
    expect(tracker.update([face(205, 198)], 600)).toEqual({ faces: [{ id: 1, detection: face(205, 198) }], ended: [] });
  });

  it('ends a track unmatched for longer than maxMissMs; the face coming back gets a new id', () => {
    const tracker = detectionTracker({ maxMissMs: 500 });
    run(tracker, [[face(200, 200)], [face(200, 200)], [face(200, 200)]]); // last seen at 132
    expect(tracker.update([], 632).ended).toEqual([]);
    expect(tracker.update([], 633).ended).toEqual([1]);
    expect(tracker.update([], 700).ended).toEqual([]);
    const back = run(tracker, [[face(200, 200)], [face(200, 200)], [face(200, 200)]], 800);
    expect(back.map(ids)).toEqual([[], [], [2]]);
  });

  it('ends a track whose face is replaced by another far away, and confirms the newcomer', () => {
    const tracker = detectionTracker({ maxMissMs: 200 });
    run(tracker, [[face(100, 100)], [face(100, 100)], [face(100, 100)]]);
    const updates = run(tracker, Array.from({ length: 5 }, () => [face(500, 400)]), 200);
    expect(updates.map(ids)).toEqual([[], [], [2], [2], [2]]);
    expect(updates.map((u) => u.ended)).toEqual([[], [], [], [1], []]);
  });

  it('keeps the ids of two faces that cross paths, whatever order the detector lists them in', () => {
    // A moves right, B left, 40 px a frame, 10 px apart vertically, so their boxes overlap by 80%
    // or more around the crossing. Between frames 7 and 8 they pass: each face's nearest detection
    // in frame 8 is the other one, so only the predicted motion keeps the ids apart.
    const frames = Array.from({ length: 21 }, (_, i) => {
      const a = face(100 + 40 * i, 200);
      const b = face(720 - 40 * i, 210);
      return i % 2 ? [a, b] : [b, a];
    });
    const updates = run(detectionTracker({ minHits: 2 }), frames);
    const idAt = (u: TrackerUpdate<Found>, cy: number) => u.faces.find((f) => f.detection.box.y + 50 === cy)?.id;
    const idsOfA = new Set(updates.slice(1).map((u) => idAt(u, 200)));
    const idsOfB = new Set(updates.slice(1).map((u) => idAt(u, 210)));
    expect(idsOfA.size).toBe(1);
    expect(idsOfB.size).toBe(1);
    expect(idsOfA).not.toEqual(idsOfB);
  });

  it('follows a moving face across a gap longer than its motion would allow without prediction', () => {
    // 30 px a frame; a 4-frame gap moves the face 120 px, more than its own size.
    const tracker = detectionTracker();
    const at = (i: number) => [face(100 + 30 * i, 300)];
    const updates = [0, 1, 2, 3, 4, 8, 9].map((i) => tracker.update(at(i), i * PERIOD));
    expect(updates.map(ids)).toEqual([[], [], [1], [1], [1], [1], [1]]);
  });

  it('matches nothing above maxCost: a jump of one face size starts a new track', () => {
    const tracker = detectionTracker({ minHits: 1 });
    expect(ids(tracker.update([face(100, 100)], 0))).toEqual([1]);
    expect(tracker.update([face(200, 100)], PERIOD)).toEqual({ faces: [{ id: 2, detection: face(200, 100) }], ended: [] });
  });

  it('starts no tracks beyond maxTracks', () => {
    const tracker = detectionTracker({ minHits: 1, maxTracks: 2 });
    const crowd = [face(100, 100), face(300, 100), face(500, 100)];
    expect(ids(tracker.update(crowd, 0))).toEqual([1, 2]);
    expect(ids(tracker.update(crowd, PERIOD))).toEqual([1, 2]);
  });
});
