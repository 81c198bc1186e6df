import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_AFFECT_MODEL } from '../../server/src/config.ts';
import { createFaceAligner, createFaceDetector, createSessionFactory, loadAffectModel } from '../../server/src/vision/index.ts';
import { VisionWorkers } from '../../server/src/vision/VisionWorkers.ts';
import { fixture, TEST_SESSIONS } from './fixtures.ts';
import { loadImage } from '../../models/scripts/image.ts';

const { log: _quiet, ...sessionOptions } = TEST_SESSIONS;
const init = { sessions: sessionOptions, detector: { model: 'back256' as const, minScore: 0.5 }, affectModelPath: SHIPPED_AFFECT_MODEL, nice: 0 };
const astronaut = loadImage(fixture('astronaut.png'));
const logs: string[] = [];

let workers: VisionWorkers;
beforeAll(async () => {
  workers = await VisionWorkers.start({ count: 2, init, restartDelayMs: 50, log: (level, message) => logs.push(`${level} ${message}`) });
});
afterAll(() => workers.close());

describe('vision in worker threads', () => {
  it('finds the same faces and predicts the same affect as vision on the main thread', async () => {
    const sessions = createSessionFactory(TEST_SESSIONS);
    const detector = await createFaceDetector({ sessions, ...init.detector });
    const model = await loadAffectModel(SHIPPED_AFFECT_MODEL, { sessions });
    const aligner = createFaceAligner(model.info);

    const faces = await detector.detect(astronaut);
    expect(faces).toHaveLength(1);
    expect(await workers.detector.detect(astronaut)).toEqual(faces);
    const regions = [faces[0]!.box, { x: 0, y: 0, width: 50, height: 50 }];
    const again = await detector.detectRegions(astronaut, regions);
    expect(again[0]).not.toBeNull();
    expect(await workers.detector.detectRegions(astronaut, regions)).toEqual(again);
    const crops = aligner.align([{ image: astronaut, detection: faces[0]! }]);
    const local = await model.predict(crops, 1);
    // The aligner's batch is shared memory, read in place by the worker; a private batch is sent as a copy.
    expect(crops.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(await workers.model.predict(crops, 1)).toEqual(local);
    const privateCrops = crops.slice();
    expect(privateCrops.buffer).toBeInstanceOf(ArrayBuffer);
    expect(await workers.model.predict(privateCrops, 1)).toEqual(local);
    expect(await model.predict(privateCrops, 1)).toEqual(local);
    expect(workers.model.info).toEqual(model.info);
    // The caller's frame is not handed away: it is still whole after a detection in a worker.
    expect(astronaut.pixels.byteLength).toBe(astronaut.width * astronaut.height * 3);
    await detector.release();
    await model.release();
  });

  it('spreads concurrent requests over the workers', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => workers.detector.detect(astronaut)));
    expect(new Set(results.map((r) => r.length))).toEqual(new Set([1]));
  });

  it('replaces a worker that dies, and the others carry on meanwhile', async () => {
    // Between requests: a thread ended inside onnxruntime's native run takes the process with it, which is
    // why close() lets the current run finish.
    const [victim] = workers.threads;
    await victim!.terminate();
    expect(workers.size).toBe(1);
    expect(await workers.detector.detect(astronaut)).toHaveLength(1);
    await expect.poll(() => workers.size, { timeout: 10_000 }).toBe(2);
    expect(logs.some((l) => /vision worker 0 exited/.test(l))).toBe(true);
    expect(await Promise.all([workers.detector.detect(astronaut), workers.detector.detect(astronaut)])).toHaveLength(2);
  });

  it('closes with requests in flight: they fail, the process lives on', async () => {
    const extra = await VisionWorkers.start({ count: 1, init, log: () => {} });
    const inFlight = Array.from({ length: 10 }, () => extra.detector.detect(astronaut).then(() => 'ok', (e: Error) => e.message));
    await extra.close();
    expect(await Promise.all(inFlight)).toContain('vision workers closed');
    expect(extra.size).toBe(0);
  });

  it('runs its threads at the nice value asked for, the rest of the process at its own (Linux: nice is per thread)', async () => {
    const niceOfThreads = () =>
      readdirSync('/proc/self/task').map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
    expect(niceOfThreads()).not.toContain(7);
    const lowered = await VisionWorkers.start({ count: 1, init: { ...init, nice: 7 }, log: () => {} });
    try {
      expect(niceOfThreads()).toContain(7);
      expect(os.getPriority()).toBe(0);
      expect(await lowered.detector.detect(astronaut)).toHaveLength(1);
    } finally {
      await lowered.close();
    }
  });

  it('refuses to start on a model that does not meet the contract, saying why', async () => {
    // A valid ONNX model that onnxruntime loads: only the contract check, inside the worker, can refuse it.
    const model = fixture('affect/affect-missing-metadata.onnx');
    await expect(VisionWorkers.start({ count: 1, init: { ...init, affectModelPath: model }, log: () => {} })).rejects.toThrow(
      `affect model ${model} does not meet the contract (docs/affect-model-contract.md): ` +
        'metadata affect.mean is missing; metadata affect.au_thresholds is missing',
    );
  });
});
