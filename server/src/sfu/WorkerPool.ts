import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { createLogger } from '../log.ts';

const log = createLogger('sfu/workers');

export interface WorkerPoolOptions {
  /** One worker per core is mediasoup's advice: a worker is single-threaded. */
  numWorkers: number;
  rtcMinPort: number;
  rtcMaxPort: number;
}

export interface WorkerPoolEvents {
  /** A worker died; everything on it is gone. A replacement has been (or is being) started. */
  workerDied: [worker: types.Worker];
}

/** mediasoup workers, with the least-loaded one picked for each new router and dead ones replaced. */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #options: WorkerPoolOptions;
  readonly #workers = new Set<types.Worker>();
  /** Routers per worker: the load measure (a router is a room). */
  readonly #load = new Map<types.Worker, number>();
  /** Replacements being started: a room created meanwhile waits for one rather than failing. */
  readonly #starting = new Set<Promise<void>>();
  #closed = false;

  private constructor(options: WorkerPoolOptions) {
    super();
    this.#options = options;
  }

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    await Promise.all(Array.from({ length: options.numWorkers }, () => pool.#spawn()));
    return pool;
  }

  get size(): number {
    return this.#workers.size;
  }

  /** Every worker, e.g. for per-process CPU metrics. */
  get workers(): types.Worker[] {
    return [...this.#workers];
  }

  async createRouter(mediaCodecs: types.RouterRtpCodecCapability[]): Promise<types.Router> {
    if (this.#workers.size === 0 && this.#starting.size > 0) await Promise.race(this.#starting);
    const worker = this.#leastLoaded();
    const router = await worker.createRouter({ mediaCodecs });
    this.#load.set(worker, (this.#load.get(worker) ?? 0) + 1);
    router.observer.once('close', () => {
      const load = this.#load.get(worker);
      if (load !== undefined) this.#load.set(worker, load - 1);
    });
    return router;
  }

  close(): void {
    this.#closed = true;
    for (const worker of this.#workers) worker.close();
    this.#workers.clear();
  }

  #leastLoaded(): types.Worker {
    let best: types.Worker | undefined;
    for (const worker of this.#workers) {
      if (!best || (this.#load.get(worker) ?? 0) < (this.#load.get(best) ?? 0)) best = worker;
    }
    if (!best) throw new Error('no mediasoup worker is running');
    return best;
  }

  async #spawn(): Promise<void> {
    const worker = await mediasoup.createWorker({
      logLevel: 'warn',
      rtcMinPort: this.#options.rtcMinPort,
      rtcMaxPort: this.#options.rtcMaxPort,
    });
    this.#workers.add(worker);
    this.#load.set(worker, 0);
    log.info('worker started', { pid: worker.pid });
    worker.on('died', (error) => {
      log.error('worker died', { pid: worker.pid, error });
      this.#workers.delete(worker);
      this.#load.delete(worker);
      this.emit('workerDied', worker);
      if (!this.#closed) {
        const replacement = this.#spawn().catch((spawnError: unknown) =>
          log.error('could not replace worker', { error: spawnError }),
        );
        this.#starting.add(replacement);
        void replacement.finally(() => this.#starting.delete(replacement));
      }
    });
  }
}
