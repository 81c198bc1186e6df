import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { InferenceSession } from 'onnxruntime-node';

export type ProviderChoice = 'auto' | 'cpu' | 'cuda';
export type Provider = 'cpu' | 'cuda';

export interface SessionFactoryOptions {
  /**
   * Where inference runs. `cpu`: always CPU. `cuda`: CUDA or fail at start (a GPU deployment that silently ran
   * on CPU would just be slow). `auto`: CUDA when it loads, else CPU. Default `auto`.
   */
  provider?: ProviderChoice;
  /** Threads inside one operator (0 lets onnxruntime use every core). Default 1: the SFU needs cores too. */
  intraOpThreads?: number;
  /** Threads across independent operators (0 lets onnxruntime decide). Default 1. */
  interOpThreads?: number;
  /** Receives the one line saying which provider runs and why. Default `console.info`. */
  log?: (line: string) => void;
  /**
   * The CUDA provider library onnxruntime would load. Default: the one next to onnxruntime-node's binding
   * (`cudaProviderLibrary()`); tests point it elsewhere.
   */
  cudaProviderLibrary?: string;
}

export interface SessionFactory {
  /** Opens a model (file path or bytes) on the chosen provider; every session of a factory shares it. */
  create(model: string | Uint8Array): Promise<InferenceSession>;
}

export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
}

const PROVIDER_LIBRARY: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'libonnxruntime_providers_cuda.so',
  win32: 'onnxruntime_providers_cuda.dll',
};

/**
 * Where onnxruntime-node looks for its CUDA provider: next to its native binding, where docs/gpu.md's install
 * step puts it (onnxruntime loads providers from its own directory, not the library path). Undefined on
 * platforms with no CUDA build.
 */
export function cudaProviderLibrary(): string | undefined {
  const name = PROVIDER_LIBRARY[process.platform];
  if (!name) return undefined;
  const packageDir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return path.join(packageDir, 'bin', 'napi-v6', process.platform, process.arch, name);
}

/**
 * The one way vision opens onnxruntime sessions, so every model runs on the same provider with the same threads.
 * The provider is settled by the first session: that is the first moment CUDA can be tried for real (the
 * libraries load when a session asks for them), and trying it once keeps start-up to one attempt and one log line.
 */
export function createSessionFactory(options: SessionFactoryOptions = {}): SessionFactory {
  const choice = options.provider ?? 'auto';
  const log = options.log ?? ((line: string) => console.info(line));
  const sessionOptions = (provider: Provider): InferenceSession.SessionOptions => ({
    executionProviders: [provider],
    intraOpNumThreads: options.intraOpThreads ?? 1,
    interOpNumThreads: options.interOpThreads ?? 1,
    graphOptimizationLevel: 'all',
    // Level 3 (errors only): the BlazeFace exports carry unused initializers that warn on every load.
    logSeverityLevel: 3,
  });
  const threads = `intra-op threads ${options.intraOpThreads ?? 1}, inter-op threads ${options.interOpThreads ?? 1}`;
  const cudaLibrary = options.cudaProviderLibrary ?? cudaProviderLibrary();

  async function settle(model: string | Uint8Array): Promise<{ session: InferenceSession; provider: Provider }> {
    if (choice === 'cpu') {
      const session = await open(model, 'cpu');
      log(`vision: onnxruntime runs on CPU (provider 'cpu' configured; ${threads})`);
      return { session, provider: 'cpu' };
    }
    // Asked for a provider it lacks, onnxruntime prints its own red error (once per worker thread) before
    // failing: a plain CPU machine would look broken at every start. Missing is known without asking.
    if (!cudaLibrary || !existsSync(cudaLibrary)) {
      const missing = cudaLibrary ? `${cudaLibrary} is not installed` : `onnxruntime has no CUDA build for ${process.platform}`;
      if (choice === 'cuda') {
        throw new ProviderUnavailableError(
          `vision: provider 'cuda' is configured but ${missing}; install it as docs/gpu.md says, or configure provider 'auto' or 'cpu'`,
        );
      }
      const session = await open(model, 'cpu');
      log(`vision: onnxruntime runs on CPU (provider 'auto' configured, no CUDA provider: ${missing}; ${threads})`);
      return { session, provider: 'cpu' };
    }
    try {
      const session = await open(model, 'cuda');
      log(`vision: onnxruntime runs on CUDA (provider '${choice}' configured and CUDA loaded; ${threads})`);
      return { session, provider: 'cuda' };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (choice === 'cuda') {
        throw new ProviderUnavailableError(
          `vision: provider 'cuda' is configured but CUDA did not load (${reason}); install the CUDA libraries ` +
            `as docs/gpu.md says, or configure provider 'auto' or 'cpu'`,
        );
      }
      const session = await open(model, 'cpu');
      log(`vision: onnxruntime runs on CPU (provider 'auto' configured, CUDA did not load: ${reason}; ${threads})`);
      return { session, provider: 'cpu' };
    }
  }

  function open(model: string | Uint8Array, provider: Provider): Promise<InferenceSession> {
    // Two calls because create() is overloaded on path vs bytes and TypeScript will not pick one for a union.
    return typeof model === 'string'
      ? InferenceSession.create(model, sessionOptions(provider))
      : InferenceSession.create(model, sessionOptions(provider));
  }

  let settled: Promise<Provider> | undefined;
  return {
    async create(model) {
      if (settled !== undefined) return open(model, await settled);
      const first = settle(model);
      settled = first.then((r) => r.provider);
      // A first model that fails to load (bad path) must not decide the provider for the next one.
      settled.catch(() => (settled = undefined));
      return (await first).session;
    },
  };
}
