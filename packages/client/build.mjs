// Builds the package from the service's own sources (client/src, protocol/, server/src/webhooks): one ES module per
// entry with its dependencies left to npm, and declarations for every source file they reach.
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
await rm(path.join(here, 'dist'), { recursive: true, force: true });
await build({
  entryPoints: { index: path.join(here, 'src/index.ts'), webhooks: path.join(here, 'src/webhooks.ts'), whip: path.join(here, 'src/whip.ts') },
  outdir: path.join(here, 'dist'),
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  external: ['zod', 'socket.io-client', 'node:*'],
  sourcemap: true,
  logLevel: 'warning',
});
const tsc = fileURLToPath(import.meta.resolve('typescript/bin/tsc'));
execFileSync(process.execPath, [tsc, '-p', path.join(here, 'tsconfig.build.json')], { stdio: 'inherit' });
