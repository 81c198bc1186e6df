import type { App } from '../../server/src/app.ts';
import { metricValue } from '../../test/helpers/server.ts';

export const STAGES = ['decode', 'queue', 'detect', 'infer', 'emit'] as const;
type Stage = (typeof STAGES)[number];

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
  modelRunSeconds: number;
}

async function snapshot(app: App): Promise<Snapshot> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
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
    modelRunSeconds: value('analysis_model_run_seconds_sum'),
  };
}

export interface AnalysisWindow {
  analysed: number;
  dropped: number;
  droppedPercent: number;
  meanBatch: number;
  /** Mean ms per frame in each stage. */
  stageMs: Record<Stage, number>;
  /** Seconds spent running the detector and the affect model: their share of the Node process's CPU. */
  detectSeconds: number;
  modelSeconds: number;
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
      detectSeconds: after.stages.detect.sum - before.stages.detect.sum,
      modelSeconds: after.modelRunSeconds - before.modelRunSeconds,
    };
  };
}
