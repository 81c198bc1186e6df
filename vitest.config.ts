import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real parts (mediasoup workers, ffmpeg, Chromium, onnxruntime) share 2 cores: run files one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    include: ['test/**/*.test.ts'],
  },
});
