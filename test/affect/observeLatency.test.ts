import { describe, expect, it } from 'vitest';
import { observeLatency } from '../../server/src/affectService.ts';
import { createMetrics } from '../../server/src/metrics.ts';
import { analysedFrameAt } from '../helpers/analysedFrame.ts';
import { metricValue } from '../helpers/server.ts';

const noSfu = () => ({ workers: 0, rooms: 0, peers: 0, transports: 0, audioProducers: 0, videoProducers: 0, consumers: 0 });
const stage = (name: string) => `{stage="${name}"}`;

describe('observeLatency', () => {
  it('exposes queue, detect, infer and emit (from RTP arrival), and no decode stage: tap_latency_seconds has it', async () => {
    const metrics = createMetrics(noSfu);
    observeLatency(metrics, analysedFrameAt(1000, [1]), 1090);
    // The text GET /metrics serves.
    const text = await metrics.registry.metrics();
    expect(text).not.toContain(stage('decode'));
    const seconds = (name: string) => metricValue(text, 'analysis_stage_seconds_sum', stage(name));
    expect(seconds('queue')).toBeCloseTo(0.001);
    expect(seconds('detect')).toBeCloseTo(0.005);
    expect(seconds('infer')).toBeCloseTo(0.004);
    expect(seconds('emit')).toBeCloseTo(0.09);
    expect(metricValue(text, 'analysis_frames_total')).toBe(1);
  });
});
