import type { Config } from '../config.ts';
import type { AffectModelInfo } from '../vision/affectContract.ts';
import { auThresholdsFromModel } from './affectSmoothing.ts';
import type { AnalyseStreamOptions } from './analyseStream.ts';
import { DEFAULT_REGION_TRACKING } from './regionTracking.ts';

/**
 * The per-stream analysis the configuration asks for: region tracking, face tracking and smoothing (the AU
 * thresholds from the model). One place, so a recorded file is analysed exactly as a live stream is.
 */
export function configuredAnalysis(
  options: Config['analysis'],
  model: Pick<AffectModelInfo, 'auLabels' | 'auThresholds'>,
): Pick<AnalyseStreamOptions, 'regions' | 'tracking' | 'smoothing'> {
  return {
    regions: options.regionTracking && { ...DEFAULT_REGION_TRACKING, ...options.regionTracking },
    tracking: options.tracking,
    smoothing: {
      valenceArousal: { minCutoffHz: options.smoothing.vaMinCutoffHz, beta: options.smoothing.vaBeta, derivativeCutoffHz: 1 },
      expressionTauMs: options.smoothing.expressionTauMs,
      expressionSwitchMargin: options.smoothing.expressionSwitchMargin,
      auTauMs: options.smoothing.auTauMs,
      auThresholdsByName: auThresholdsFromModel(model.auLabels, model.auThresholds),
    },
  };
}
