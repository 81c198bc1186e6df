import type { App } from '../../server/src/app.ts';
import { metricValue } from '../../test/helpers/server.ts';

export const STAGES = ['decode', 'queue', 'detect', 'infer', 'emit'] as const;
type Stage = (typeof STAGES)[number];
/** analysis_work_seconds_total's kinds: the vision work's own time, not waits for a worker. */
export const WORK = ['detect_full', 'detect_regions', 'detect_regions+full', 'model'] as const;
type Work = (typeof WORK)[number];

/** Decoding (RTP arrival -> decoded) is the frame tap's own histogram, over every decoded frame, not only the analysed ones. */
const histogram = (stage: Stage) =>
  stage === 'decode'
    ? { name: 'tap_latency_seconds', labels: '' }
    : { name: 'analysis_stage_seconds', labels: `{stage="${stage}"}` };

interface Snapshot {
  stages: Record<Stage, { sum: number; count: number }>;
  analysed: number;
  dropped: number;
  batchSum: number;
  batchCount: number;
  work: Record<Work, number>;
}

/** The metrics page; asked again once if the connection was reset (a kept-alive connection the server closed as it was reused, likelier under load). */
async function metricsText(app: App): Promise<string> {
  const read = async () => (await fetch(`${app.url}/metrics`)).text();
  return read().catch(read);
}

async function snapshot(app: App): Promise<Snapshot> {
  const text = await metricsText(app);
  const value = (name: string, labels = '') => metricValue(text, name, labels) ?? 0;
  const stage = (name: Stage) => {
    const { name: metric, labels } = histogram(name);
    return { sum: value(`${metric}_sum`, labels), count: value(`${metric}_count`, labels) };
  };
  return {
    stages: Object.fromEntries(STAGES.map((name) => [name, stage(name)])) as Snapshot['stages'],
    analysed: value('analysis_frames_total'),
    dropped: value('analysis_frames_dropped_total'),
    batchSum: value('analysis_batch_size_sum'),
    batchCount: value('analysis_batch_size_count'),
    work: Object.fromEntries(WORK.map((w) => [w, value('analysis_work_seconds_total', `{work="${w}"}`)])) as Record<Work, number>,
  };
}

export interface AnalysisWindow {
  analysed: number;
  dropped: number;
  droppedPercent: number;
  meanBatch: number;
  /** Mean ms per frame in each stage. */
  stageMs: Record<Stage, number>;
  /** Seconds of the vision work's own time by kind (detection by how faces were found; the model): its share of the Node process's CPU. */
  workSeconds: Record<Work, number>;
}

/** The server's analysis counters over a window of time, from its own /metrics. */
export async function analysisWindow(app: App): Promise<() => Promise<AnalysisWindow>> {
  const before = await snapshot(app);
  return async () => {
    const after = await snapshot(app);
    const analysed = after.analysed - before.analysed;
    const dropped = after.dropped - before.dropped;
    const stageMs = Object.fromEntries(
      STAGES.map((name) => {
        const count = after.stages[name].count - before.stages[name].count;
        return [name, (1000 * (after.stages[name].sum - before.stages[name].sum)) / Math.max(1, count)];
      }),
    ) as Record<Stage, number>;
    return {
      analysed,
      dropped,
      droppedPercent: (100 * dropped) / Math.max(1, analysed + dropped),
      meanBatch: (after.batchSum - before.batchSum) / Math.max(1, after.batchCount - before.batchCount),
      stageMs,
      workSeconds: Object.fromEntries(WORK.map((w) => [w, after.work[w] - before.work[w]])) as Record<Work, number>,
    };
  };
}
