import { describe, expect, it } from 'vitest';
import { blazeFaceModelPath } from '../../server/src/vision/FaceDetector.ts';
import { createSessionFactory, ProviderUnavailableError } from '../../server/src/vision/sessions.ts';

const model = blazeFaceModelPath('front128');

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
      expect(cudaError.message).toMatch(/provider 'cuda' is configured but CUDA did not load \(.+\); .*docs\/gpu\.md/);
      expect(lines[0]).toMatch(/^vision: onnxruntime runs on CPU \(provider 'auto' configured, CUDA did not load: .+\)$/);
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
