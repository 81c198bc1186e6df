import type { Config } from '../config.ts';
import { VisionWorkers } from '../vision/VisionWorkers.ts';

/** The configured detector and affect model in `count` worker threads (the live service's sessions and settings). */
export function startVision(vision: Config['vision'], count: number, log: (level: 'info' | 'warn' | 'error', message: string) => void = () => {}): Promise<VisionWorkers> {
  return VisionWorkers.start({
    count,
    init: {
      sessions: { provider: vision.provider, intraOpThreads: vision.intraOpThreads, interOpThreads: vision.interOpThreads },
      detector: { model: vision.detectorModel, minScore: vision.detectorMinScore },
      affectModelPath: vision.affectModelPath,
      // No call to make room for: a recorded file's analysis takes what the machine has.
      nice: 0,
    },
    log,
  });
}
