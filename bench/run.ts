/**
 * All benchmarks, one after another (never side by side: they would share the cores), each printing its
 * own table; then a summary against the targets, and every section's results in one JSON file under
 * bench/results/.
 *   npm run bench            a few minutes
 *   npm run bench -- --full  longer runs, the capacity search and 8 browser streams
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, machine } from './lib/report.ts';
import { fmt } from './lib/stats.ts';

const { values } = parseArgs({ options: { full: { type: 'boolean', default: false }, only: { type: 'string' } } });
const full = values.full;
const root = fileURLToPath(new URL('..', import.meta.url));

const SECTIONS: Record<string, { script: string; args: string[] }> = {
  vision: { script: 'vision.ts', args: ['--runs', full ? '200' : '50'] },
  model: { script: 'model.ts', args: full ? ['--full'] : [] },
  tap: { script: 'tap.ts', args: ['--seconds', full ? '15' : '8', '--joins', full ? '3' : '2'] },
  pipeline: { script: 'pipeline.ts', args: full ? ['--capacity', '--seconds', '10'] : ['--streams', '1,4,16', '--seconds', '8'] },
  tracking: { script: 'tracking.ts', args: ['--seconds', full ? '20' : '6'] },
  e2e: { script: 'e2e.ts', args: ['--streams', full ? '1,4,8' : '1,4', '--seconds', full ? '15' : '8'] },
};
const chosen = values.only ? values.only.split(',') : Object.keys(SECTIONS);

const scratch = mkdtempSync(path.join(os.tmpdir(), 'affect-bench-'));
const results: Record<string, unknown> = {};
const failed: string[] = [];
for (const name of chosen) {
  const section = SECTIONS[name];
  if (!section) throw new Error(`unknown section ${name}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  console.log(`\n=== ${name} ===`);
  const json = path.join(scratch, `${name}.json`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench', section.script), ...section.args, '--json', json], {
    cwd: root,
    stdio: 'inherit',
  });
  if (run.status !== 0 || !existsSync(json)) {
    failed.push(name);
    continue;
  }
  results[name] = JSON.parse(readFileSync(json, 'utf8')).results;
}
rmSync(scratch, { recursive: true, force: true });

// Each section's JSON is its own; a missing field just leaves its row out.
type Json = Record<string, any>;
// The numbers the targets are about, each next to its target.
const r = results as Json;
const e2eAt = (n: number) => (r.e2e?.runs as Json[] | undefined)?.find((run) => run.streams === n);
const rows: [string, string, string][] = [];
for (const n of [1, 4, 8]) {
  const run = e2eAt(n);
  if (run) rows.push([`capture -> event p50 / p95 / p99, ${n} browser stream${n > 1 ? 's' : ''}`, `${fmt(run.captureToEventMs.p50, 0)} / ${fmt(run.captureToEventMs.p95, 0)} / ${fmt(run.captureToEventMs.p99, 0)} ms`, n === 4 ? '<= 80 / 150 ms' : '']);
}
for (const [mode, capacity] of Object.entries((r.pipeline?.capacity ?? {}) as Record<string, number>)) {
  rows.push([`streams analysed at 10 fps (<= 5% dropped, p95 <= 250 ms), VISION_TRACKING=${mode}`, String(capacity), mode === 'roi' ? '>= 32' : '>= 16']);
}
if (r.model?.ratios) {
  for (const [batch, ratio] of Object.entries(r.model.ratios.paperOverOurs ?? {})) rows.push([`paper r50 (PyTorch) / ours (ONNX) per face, batch ${batch}`, `${fmt(Number(ratio), 1)}x`, '>= 5x']);
}
if (r.tap) rows.push(['sender capture -> decoded frame p50 / p95', `${fmt(r.tap.latencyMs.captureToDecoded.p50, 0)} / ${fmt(r.tap.latencyMs.captureToDecoded.p95, 0)} ms`, '']);

console.log(`\n=== summary ===\n${describeMachine()}`);
for (const [what, value, target] of rows) console.log(`${what.padEnd(62)} ${value.padStart(18)}   ${target}`);
if (failed.length) console.log(`sections that failed: ${failed.join(', ')}`);

mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
const out = path.join(root, 'bench', 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}${full ? '-full' : ''}.json`);
writeFileSync(out, `${JSON.stringify({ at: new Date().toISOString(), full, machine: machine(), results }, null, 2)}\n`);
console.log(`results: ${path.relative(root, out)}`);
process.exitCode = failed.length ? 1 : 0;
