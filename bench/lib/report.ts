import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a number was measured on: benchmark results mean nothing without it. */
export function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
  };
}

export function describeMachine(): string {
  const m = machine();
  return `machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}`;
}

/**
 * Every bench script takes `--json <file>`: its results, with the machine, go there as well as to the
 * console, so `npm run bench` can gather them into bench/results/.
 */
export function writeResults(file: string | undefined, section: string, results: unknown): void {
  if (!file) return;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ section, at: new Date().toISOString(), machine: machine(), results }, null, 2)}\n`);
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A path as results should show it: relative to the repository, whatever machine ran the bench. */
export function fromRepo(file: string): string {
  return path.relative(REPO_ROOT, file) || '.';
}
