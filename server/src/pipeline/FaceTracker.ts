import type { Point } from '../vision/types.ts';
import { minCostAssignment } from './assignment.ts';
import { type FacePlace, faceMatchCost } from './faceMatching.ts';

export interface FaceTrackerOptions {
  /**
   * Consecutive matched detections before a track is confirmed and gets an id. Default 3: the
   * detector's one- or two-frame false positives never become faces.
   */
  minHits?: number;
  /**
   * A confirmed track unmatched for longer than this (ms) ends. Default 1000: rides out a blink,
   * a turned head or a few missed detections; a face gone longer comes back with a new id.
   */
  maxMissMs?: number;
  /**
   * Largest `faceMatchCost` (see faceMatching.ts) accepted as the same face. Default 1.5: a steady
   * face costs about 0.1-0.3; one face size of unexplained motion costs about 2.
   */
  maxCost?: number;
  /** Most tracks kept; detections beyond it start none. Default 32. */
  maxTracks?: number;
}

/** What the tracker follows: anything found at a place in the frame (a detection, or a detection with its affect). */
export interface Placed {
  detection: FacePlace;
}

/** A face of the update with its track id, stable for as long as the track lives; ids are never reused by one tracker. */
export type Tracked<T extends Placed> = T & { id: number };

export interface TrackerUpdate<T extends Placed> {
  /** Confirmed tracks matched in this update, in input order. */
  faces: Tracked<T>[];
  /** Ids of confirmed tracks that ended in this update; each id ends once. */
  ended: number[];
}

interface Track {
  /** Undefined while tentative. */
  id: number | undefined;
  hits: number;
  lastSeenMs: number;
  place: FacePlace;
  /** Velocity of the box centre, px per ms, smoothed. */
  vx: number;
  vy: number;
}

// Weight of a new velocity measurement: high enough to follow a face that starts moving within a
// few frames, low enough that detector jitter on a steady face does not fling the prediction.
const VELOCITY_GAIN = 0.5;

const shift = (p: Point, dx: number, dy: number): Point => ({ x: p.x + dx, y: p.y + dy });

/** Where a track's face should be at `timeMs`, moving at its current velocity. */
function predict(track: Track, timeMs: number): FacePlace {
  const dt = Math.max(0, timeMs - track.lastSeenMs);
  const dx = track.vx * dt;
  const dy = track.vy * dt;
  const { box, keypoints } = track.place;
  return { box: { ...box, x: box.x + dx, y: box.y + dy }, keypoints: keypoints.map((p) => shift(p, dx, dy)) };
}

/**
 * Gives the faces of one stream stable ids across frames. Each update matches detections to tracks
 * by an optimal assignment on `faceMatchCost` against each track's motion-predicted place (so two
 * faces crossing keep their ids), with pairs above `maxCost` never matched.
 *
 * A new track is tentative until `minHits` consecutive matches, and is dropped silently at its first
 * miss. A confirmed track survives misses up to `maxMissMs`, then is reported in `ended`. Time is
 * whatever clock the caller passes (a frame's arrival time suits: independent of processing delays).
 */
export class FaceTracker<T extends Placed> {
  readonly #minHits: number;
  readonly #maxMissMs: number;
  readonly #maxCost: number;
  readonly #maxTracks: number;
  #tracks: Track[] = [];
  #nextId = 1;

  constructor(options: FaceTrackerOptions = {}) {
    this.#minHits = options.minHits ?? 3;
    this.#maxMissMs = options.maxMissMs ?? 1000;
    this.#maxCost = options.maxCost ?? 1.5;
    this.#maxTracks = options.maxTracks ?? 32;
  }

  update(items: readonly T[], timeMs: number): TrackerUpdate<T> {
    const ended: number[] = [];
    const live = this.#tracks.filter((t) => {
      const expired = timeMs - t.lastSeenMs > this.#maxMissMs;
      if (expired && t.id !== undefined) ended.push(t.id);
      return !expired;
    });

    const cost = live.map((t) => {
      const predicted = predict(t, timeMs);
      return items.map((item) => {
        const c = faceMatchCost(predicted, item.detection);
        return c <= this.#maxCost ? c : Number.POSITIVE_INFINITY;
      });
    });
    const trackOfDetection = new Map<number, Track>();
    for (const [ti, di] of minCostAssignment(cost)) trackOfDetection.set(di, live[ti]!);

    const matched = new Set(trackOfDetection.values());
    // Tentative tracks must hit every update; confirmed ones coast until they expire above.
    const next = live.filter((t) => t.id !== undefined && !matched.has(t));
    let room = this.#maxTracks - next.length - matched.size;
    const faces: Tracked<T>[] = [];
    items.forEach((item, di) => {
      let track = trackOfDetection.get(di);
      if (track) {
        this.#observe(track, item.detection, timeMs);
      } else if (room > 0) {
        room--;
        track = { id: undefined, hits: 1, lastSeenMs: timeMs, place: item.detection, vx: 0, vy: 0 };
      } else {
        return;
      }
      if (track.id === undefined && track.hits >= this.#minHits) track.id = this.#nextId++;
      if (track.id !== undefined) faces.push({ ...item, id: track.id });
      next.push(track);
    });
    this.#tracks = next;
    return { faces, ended };
  }

  #observe(track: Track, d: FacePlace, timeMs: number): void {
    const dt = timeMs - track.lastSeenMs;
    if (dt > 0) {
      const prev = track.place.box;
      const mx = (d.box.x + d.box.width / 2 - (prev.x + prev.width / 2)) / dt;
      const my = (d.box.y + d.box.height / 2 - (prev.y + prev.height / 2)) / dt;
      track.vx += VELOCITY_GAIN * (mx - track.vx);
      track.vy += VELOCITY_GAIN * (my - track.vy);
    }
    track.hits++;
    track.lastSeenMs = timeMs;
    track.place = d;
  }
}
