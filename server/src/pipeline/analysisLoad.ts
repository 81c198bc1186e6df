import type { FairTurns } from './fairTurns.ts';

const WINDOW_S = 10;
/** A share of frames dropped above this (while the tap delivers at the analysis rate) means the machine is shedding load. */
const SHEDDING_SHARE = 0.05;

/** How the analysis keeps up, for /healthz and the metrics. */
export interface AnalysisLoad {
  /** Streams being analysed. */
  streams: number;
  /** Frames analysed at once at most, and now; streams with a frame waiting for their turn. */
  concurrency: number;
  running: number;
  waiting: number;
  /** Share of the decoded frames of the last 10 s that were dropped unanalysed (a newer frame came first). */
  droppedShare: number;
  /** The streams' own analysis rates (analysisFps of their events): mean and lowest; null without streams. */
  meanFps: number | null;
  minFps: number | null;
  /** More frames come than the machine analyses: each stream gets an equal share below its rate. */
  shedding: boolean;
}

/** Frames analysed and dropped over the last WINDOW_S seconds, in one-second buckets (a bounded, allocation-free window). */
export class RecentFrames {
  readonly #buckets = Array.from({ length: WINDOW_S }, () => ({ second: -Infinity, analysed: 0, dropped: 0 }));

  add(kind: 'analysed' | 'dropped', nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const bucket = this.#buckets[second % WINDOW_S]!;
    if (bucket.second !== second) Object.assign(bucket, { second, analysed: 0, dropped: 0 });
    bucket[kind] += 1;
  }

  droppedShare(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    let analysed = 0;
    let dropped = 0;
    for (const bucket of this.#buckets) {
      if (second - bucket.second >= WINDOW_S) continue;
      analysed += bucket.analysed;
      dropped += bucket.dropped;
    }
    return analysed + dropped > 0 ? dropped / (analysed + dropped) : 0;
  }
}

/** `streamFps`: the latest analysisFps of each stream that has one (a stream's first frame has none). */
export function analysisLoad(turns: FairTurns, recent: RecentFrames, streams: number, streamFps: Iterable<number>, nowMs: number): AnalysisLoad {
  const rates = [...streamFps];
  const droppedShare = recent.droppedShare(nowMs);
  return {
    streams,
    concurrency: turns.concurrency,
    running: turns.running,
    waiting: turns.waiting,
    droppedShare: Math.round(droppedShare * 1000) / 1000,
    meanFps: rates.length ? Math.round((rates.reduce((a, b) => a + b, 0) / rates.length) * 10) / 10 : null,
    minFps: rates.length ? Math.round(Math.min(...rates) * 10) / 10 : null,
    shedding: droppedShare > SHEDDING_SHARE,
  };
}
