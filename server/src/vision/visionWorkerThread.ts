/**
 * A vision worker thread: onnxruntime-node runs a session synchronously on the calling thread, so detection
 * and the affect model run here, off the main thread that moves media and events.
 */
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { loadAffectModel, type PredictTimings } from './AffectModel.ts';
import { createFaceDetector } from './FaceDetector.ts';
import { noTimings } from './FaceDetectorTypes.ts';
import { createSessionFactory } from './sessions.ts';
import type { VisionReply, VisionRequest, VisionWorkerInit } from './visionWorkerProtocol.ts';

const port = parentPort!;
const reply = (message: VisionReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const init = (workerData as { init: VisionWorkerInit }).init;

// On Linux a nice value belongs to one thread: this one, and the threads it starts from here on.
try {
  os.setPriority(init.nice);
} catch (error) {
  reply({ type: 'log', line: `nice ${init.nice} not applied: ${(error as Error).message}` });
}
const sessions = createSessionFactory({ ...init.sessions, log: (line) => reply({ type: 'log', line }) });
const detector = await createFaceDetector({ sessions, model: init.detector.model, minScore: init.detector.minScore });
const model = await loadAffectModel(init.affectModelPath, { sessions });

port.on('message', async (request: VisionRequest) => {
  if (request.op === 'close') {
    await Promise.all([detector.release(), model.release()]);
    port.close();
    return;
  }
  try {
    if (request.op === 'detect') {
      const timings = noTimings();
      const faces = await detector.detect(request, timings);
      reply({ type: 'detected', id: request.id, faces, timings });
    } else if (request.op === 'detectRegions') {
      const timings = noTimings();
      const faces = await detector.detectRegions(request, request.regions, timings);
      reply({ type: 'detectedRegions', id: request.id, faces, timings });
    } else {
      const timings: PredictTimings = { infer: 0, postprocess: 0 };
      const predictions = await model.predict(request.crops, request.count, timings);
      reply({ type: 'predicted', id: request.id, predictions, timings });
    }
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    reply({ type: 'failed', id: request.id, name, message });
  }
});
reply({ type: 'ready', detector: { model: detector.model, inputSize: detector.inputSize }, info: model.info });
