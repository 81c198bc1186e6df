import { Worker } from 'node:worker_threads';
import type { AffectModel } from './AffectModel.ts';
import type { AffectModelInfo } from './affectContract.ts';
import type { FaceDetector } from './FaceDetector.ts';
import type { BlazeFaceModel, DetectTimings } from './FaceDetectorTypes.ts';
import type { AffectPrediction, Box, FaceDetection, RgbImage } from './types.ts';
import type { VisionReply, VisionWork, VisionWorkerInit } from './visionWorkerProtocol.ts';

type Detected = Extract<VisionReply, { type: 'detected' }>;
type DetectedRegions = Extract<VisionReply, { type: 'detectedRegions' }>;

export interface VisionWorkersOptions {
  /** Worker threads, each with its own sessions; requests go to the least busy. */
  count: number;
  init: VisionWorkerInit;
  /** A worker that dies is replaced after this long (doubling while replacements keep dying, up to 5 s). */
  restartDelayMs?: number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

interface Pending {
  resolve(reply: VisionReply): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  ready: boolean;
  exited: boolean;
}

const BOOTSTRAP = new URL('./tsWorkerBootstrap.mjs', import.meta.url);
const ENTRY = new URL('./visionWorkerThread.ts', import.meta.url).href;
const MAX_RESTART_DELAY_MS = 5000;
const CLOSE_TIMEOUT_MS = 5000;

/**
 * The face detector and the affect model, run in worker threads. onnxruntime-node runs sessions on the
 * calling thread; here that thread is not the one that reads decoded frames and serves sockets, so a busy
 * model delays neither, and with more than one worker, frames of different streams are analysed at once.
 * A worker that dies fails its requests (the frames are dropped, not retried late) and is replaced.
 */
export class VisionWorkers {
  readonly detector: FaceDetector;
  readonly model: AffectModel;
  readonly #slots: Slot[] = [];
  #nextId = 0;
  #closed = false;
  #restartDelayMs: number;

  private constructor(
    private readonly options: VisionWorkersOptions,
    ready: Extract<VisionReply, { type: 'ready' }>,
  ) {
    this.#restartDelayMs = options.restartDelayMs ?? 250;
    this.detector = this.#detectorProxy(ready.detector.model, ready.detector.inputSize);
    this.model = this.#modelProxy(ready.info);
  }

  static async start(options: VisionWorkersOptions): Promise<VisionWorkers> {
    if (options.count < 1) throw new RangeError('VisionWorkers needs at least one worker');
    const starts = Array.from({ length: options.count }, (_, i) => spawn(options, i));
    const settled = await Promise.allSettled(starts);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const slots = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (failure) {
      await Promise.all(slots.map(({ slot }) => stop(slot)));
      throw failure.reason;
    }
    const workers = new VisionWorkers(options, slots[0]!.ready);
    slots.forEach(({ slot }, i) => workers.#adopt(slot, i));
    return workers;
  }

  /** Workers running and ready now. */
  get size(): number {
    return this.#slots.filter((s) => s.ready).length;
  }

  /** The worker threads, for operations (and for tests that end one the way a crash would). */
  get threads(): readonly Worker[] {
    return this.#slots.map((s) => s.worker);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    for (const slot of slots) failAll(slot, new Error('vision workers closed'));
    await Promise.all(slots.map((slot) => stop(slot)));
  }

  #adopt(slot: Slot, index: number): void {
    this.#slots[index] = slot;
    slot.worker.on('message', (reply: VisionReply) => {
      if (reply.type === 'log') return this.options.log('info', `vision worker ${index}: ${reply.line}`);
      if (reply.type === 'ready') return;
      const pending = slot.pending.get(reply.id);
      if (!pending) return;
      slot.pending.delete(reply.id);
      if (reply.type === 'failed') pending.reject(Object.assign(new Error(reply.message), { name: reply.name }));
      else pending.resolve(reply);
    });
    slot.worker.once('exit', (code) => {
      slot.ready = false;
      slot.exited = true;
      failAll(slot, new Error(`vision worker ${index} exited (code ${code})`));
      if (this.#closed) return;
      this.options.log('error', `vision worker ${index} exited (code ${code}); replacing it in ${this.#restartDelayMs} ms`);
      setTimeout(() => this.#replace(index), this.#restartDelayMs).unref();
      this.#restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, this.#restartDelayMs * 2);
    });
    slot.worker.on('error', (error) => this.options.log('error', `vision worker ${index} failed: ${error.message}`));
  }

  async #replace(index: number): Promise<void> {
    if (this.#closed) return;
    try {
      const { slot } = await spawn(this.options, index);
      if (this.#closed) return void stop(slot);
      this.#adopt(slot, index);
      this.#restartDelayMs = this.options.restartDelayMs ?? 250;
      this.options.log('info', `vision worker ${index} replaced`);
    } catch (error) {
      this.options.log('error', `vision worker ${index} could not be replaced: ${(error as Error).message}`);
      setTimeout(() => this.#replace(index), this.#restartDelayMs).unref();
      this.#restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, this.#restartDelayMs * 2);
    }
  }

  /** Sends a request to the least busy ready worker; `transfer` moves the request's copy of its data there. */
  #request<T extends VisionReply>(request: VisionWork, transfer: ArrayBuffer[]): Promise<T> {
    const slot = this.#slots.filter((s) => s.ready).sort((a, b) => a.pending.size - b.pending.size)[0];
    if (!slot) return Promise.reject(new Error('no vision worker is running (one is being replaced)'));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (reply: VisionReply) => void, reject });
      slot.worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** A detection request on `image` in a worker; its timings are copied into `timings`. */
  async #detectIn<R extends Detected | DetectedRegions>(
    image: RgbImage,
    request: { op: 'detect' } | { op: 'detectRegions'; regions: Box[] },
    timings: DetectTimings | undefined,
  ): Promise<R> {
    // A private frame is copied (frames are often Buffers, whose slice() would share, not copy): the frame itself
    // stays whole for the aligner.
    const { data: pixels, transfer } = shareOrCopy(image.pixels, () => new Uint8Array(image.pixels));
    const reply = await this.#request<R>({ ...request, width: image.width, height: image.height, pixels }, transfer);
    if (timings) Object.assign(timings, reply.timings);
    return reply;
  }

  #detectorProxy(model: BlazeFaceModel, inputSize: number): FaceDetector {
    return {
      model,
      inputSize,
      detect: async (image: RgbImage, timings): Promise<FaceDetection[]> => {
        const reply = await this.#detectIn<Detected>(image, { op: 'detect' }, timings);
        return reply.faces;
      },
      detectRegions: async (image: RgbImage, regions: readonly Box[], timings): Promise<(FaceDetection | null)[]> => {
        const reply = await this.#detectIn<DetectedRegions>(image, { op: 'detectRegions', regions: [...regions] }, timings);
        return reply.faces;
      },
      release: async () => {},
    };
  }

  #modelProxy(info: AffectModelInfo): AffectModel {
    const faceLength = 3 * info.inputSize * info.inputSize;
    return {
      info,
      predict: async (crops: Float32Array, count: number, timings): Promise<AffectPrediction[]> => {
        if (count === 0) return [];
        // The aligner's batch (shared memory) is left alone until this resolves; a private one is copied, just these faces.
        const length = count * faceLength;
        const { data, transfer } = shareOrCopy(crops.subarray(0, length), () => crops.slice(0, length));
        const reply = await this.#request<Extract<VisionReply, { type: 'predicted' }>>({ op: 'predict', crops: data, count }, transfer);
        if (timings) Object.assign(timings, reply.timings);
        return reply.predictions;
      },
      release: async () => {},
    };
  }
}

function spawn(options: VisionWorkersOptions, index: number): Promise<{ slot: Slot; ready: Extract<VisionReply, { type: 'ready' }> }> {
  const worker = new Worker(BOOTSTRAP, { workerData: { entry: ENTRY, init: options.init }, name: `vision-${index}` });
  return new Promise((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`vision worker ${index} exited (code ${code}) before it was ready`));
    worker.once('error', (error) => {
      worker.off('exit', onExit);
      reject(error);
    });
    worker.once('exit', onExit);
    const onMessage = (reply: VisionReply) => {
      if (reply.type === 'log') return options.log('info', `vision worker ${index}: ${reply.line}`);
      if (reply.type !== 'ready') return;
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      worker.removeAllListeners('error');
      resolve({ slot: { worker, pending: new Map(), ready: true, exited: false }, ready: reply });
    };
    worker.on('message', onMessage);
  });
}

/**
 * Ends a worker once its current model run is over: terminating a thread inside onnxruntime's native run
 * aborts the whole process. Terminated only if it does not end in time.
 */
async function stop({ worker, exited: alreadyExited }: Slot): Promise<void> {
  if (alreadyExited) return;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ op: 'close' });
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), CLOSE_TIMEOUT_MS).unref());
  if ((await Promise.race([exited, timeout])) === 'timeout') await worker.terminate();
}

/**
 * What a request carries of `view`: shared memory (frames from a FramePool, the aligner's batches) is read by the
 * worker where it lies, which costs neither a copy nor an allocation; anything else goes as a copy the worker owns.
 */
function shareOrCopy<T extends Uint8Array | Float32Array>(view: T, copy: () => T): { data: T; transfer: ArrayBuffer[] } {
  if (view.buffer instanceof SharedArrayBuffer) return { data: view, transfer: [] };
  const data = copy();
  return { data, transfer: [data.buffer as ArrayBuffer] };
}

function failAll(slot: Slot, error: Error): void {
  for (const pending of slot.pending.values()) pending.reject(error);
  slot.pending.clear();
}
