// Bundles the browser client into client/dist (served by the server at /).
import { build } from 'esbuild';
import { copyFile, cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
await mkdir(path.join(dist, 'ffmpeg'), { recursive: true });
await cp(path.join(here, 'public'), dist, { recursive: true });
// ffmpeg.wasm's core (single-threaded: no SharedArrayBuffer, so no cross-origin isolation headers needed) is
// served by our own server; the recorder imports it from /ffmpeg/ (client/src/recording/toMp4.ts).
for (const [specifier, name] of [
  ['@ffmpeg/core', 'ffmpeg-core.js'],
  ['@ffmpeg/core/wasm', 'ffmpeg-core.wasm'],
]) {
  await copyFile(fileURLToPath(import.meta.resolve(specifier)), path.join(dist, 'ffmpeg', name));
}
await build({
  entryPoints: {
    call: path.join(here, 'src/call.ts'),
    dashboard: path.join(here, 'src/dashboard.ts'),
    // @ffmpeg/ffmpeg starts its worker from a URL relative to its own module, which a bundle does not keep:
    // bundle the worker as its own file and hand its URL to FFmpeg.load().
    'ffmpeg/worker': '@ffmpeg/ffmpeg/worker',
  },
  outdir: dist,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
