import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { blazeFaceModelPath } from '../../server/src/vision/FaceDetector.ts';
import { createSessionFactory, cudaProviderLibrary, ProviderUnavailableError } from '../../server/src/vision/sessions.ts';

const model = blazeFaceModelPath('front128');
const notInstalled = path.join(os.tmpdir(), 'no-such-dir', 'libonnxruntime_providers_cuda.so');

describe('session factory', () => {
  it('cpu: runs on CPU and says so once, with the thread counts', async () => {
    const lines: string[] = [];
    const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 2, interOpThreads: 1, log: (l) => lines.push(l) });
    await sessions.create(model);
    await sessions.create(model);
    expect(lines).toEqual([
      "vision: onnxruntime runs on CPU (provider 'cpu' configured; intra-op threads 2, inter-op threads 1)",
    ]);
  });

  it('auto without the CUDA provider library: CPU, one calm line naming the library, onnxruntime not asked', async () => {
    const lines: string[] = [];
    const session = await createSessionFactory({ provider: 'auto', cudaProviderLibrary: notInstalled, log: (l) => lines.push(l) }).create(model);
    expect(session.inputNames).toEqual(['input:0']);
    expect(lines).toEqual([
      `vision: onnxruntime runs on CPU (provider 'auto' configured, no CUDA provider: ${notInstalled} is not installed; intra-op threads 1, inter-op threads 1)`,
    ]);
  });

  it('cuda without the CUDA provider library: refused at once, naming the library', async () => {
    const sessions = createSessionFactory({ provider: 'cuda', cudaProviderLibrary: notInstalled, log: () => {} });
    await expect(sessions.create(model)).rejects.toThrow(
      new ProviderUnavailableError(
        `vision: provider 'cuda' is configured but ${notInstalled} is not installed; install it as docs/gpu.md says, or configure provider 'auto' or 'cpu'`,
      ),
    );
  });

  // onnxruntime's own complaint goes to the process's stderr from native code, out of reach of a log hook.
  it('auto on this machine: onnxruntime prints no load error unless the CUDA provider is installed', async () => {
    const script = [
      "import { createSessionFactory } from './server/src/vision/sessions.ts';",
      "import { blazeFaceModelPath } from './server/src/vision/FaceDetector.ts';",
      "await createSessionFactory({ provider: 'auto' }).create(blazeFaceModelPath('front128'));",
    ].join('\n');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../..'),
    });
    expect(stdout).toMatch(/^vision: onnxruntime runs on (CPU|CUDA) \(provider 'auto' configured/);
    if (!existsSync(cudaProviderLibrary()!)) {
      expect(stdout).toContain('no CUDA provider');
      expect(stderr).not.toMatch(/Failed to load/i);
    }
  });

  // A provider library that is there but does not load (an empty file; on a GPU machine, a missing cuDNN) is
  // onnxruntime's to report: auto falls back with its reason.
  it('auto with a provider library that does not load: CPU with the reason', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cuda-provider-'));
    try {
      const library = path.join(dir, 'libonnxruntime_providers_cuda.so');
      writeFileSync(library, '');
      const lines: string[] = [];
      await createSessionFactory({ provider: 'auto', cudaProviderLibrary: library, log: (l) => lines.push(l) }).create(model);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^vision: onnxruntime runs on (CPU \(provider 'auto' configured, CUDA did not load: .+\)|CUDA)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Holds on machines with and without a GPU: whatever `cuda` does here, `auto` must agree with it.
  it('auto: CUDA when it loads, else CPU with the reason', async () => {
    let cudaError: Error | undefined;
    try {
      await createSessionFactory({ provider: 'cuda', log: () => {} }).create(model);
    } catch (err) {
      cudaError = err as Error;
    }
    const lines: string[] = [];
    const session = await createSessionFactory({ provider: 'auto', log: (l) => lines.push(l) }).create(model);
    expect(session.inputNames).toEqual(['input:0']);
    expect(lines).toHaveLength(1);
    if (cudaError) {
      expect(cudaError).toBeInstanceOf(ProviderUnavailableError);
      expect(cudaError.message).toMatch(/provider 'cuda' is configured but (CUDA did not load \(.+\)|.+ is not installed); .*docs\/gpu\.md/);
      expect(lines[0]).toMatch(/^vision: onnxruntime runs on CPU \(provider 'auto' configured, (CUDA did not load|no CUDA provider): .+\)$/);
    } else {
      expect(lines[0]).toMatch(/^vision: onnxruntime runs on CUDA \(provider 'auto' configured and CUDA loaded/);
    }
  });

  it('a first model that fails to load does not settle the provider', async () => {
    const lines: string[] = [];
    const sessions = createSessionFactory({ provider: 'cpu', log: (l) => lines.push(l) });
    await expect(sessions.create('/nonexistent/model.onnx')).rejects.toThrow();
    await sessions.create(model);
    expect(lines).toHaveLength(1);
  });
});
