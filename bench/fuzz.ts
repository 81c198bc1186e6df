/**
 * Fuzzes the call's signaling against a real server started in this process (bench/lib/signalingFuzz.ts):
 * every request type, valid and mutated, from each protocol state, by real socket.io clients.
 *   npm run fuzz [-- --count 3000] [--seconds 60] [--seed 1]     (or FUZZ_COUNT, FUZZ_SECONDS, FUZZ_SEED)
 * Prints the answers by code and the checks; exits 1 when a check fails.
 */
import { parseArgs } from 'node:util';
import { startTestServer } from '../test/helpers/server.ts';
import { fuzzFailures, fuzzSignaling } from './lib/signalingFuzz.ts';
import { fmt } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: process.env.FUZZ_COUNT ?? '3000' },
    seconds: { type: 'string', default: process.env.FUZZ_SECONDS ?? '60' },
    seed: { type: 'string', default: process.env.FUZZ_SEED ?? String(Date.now() % 1_000_000) },
  },
});
const options = { count: Number(values.count), seconds: Number(values.seconds), seed: Number(values.seed) };

// The tap and analysis have nothing to do with signaling: off, so that the run is about the requests.
const app = await startTestServer({ TAP_ENABLED: 'false', ANALYSIS_ENABLED: 'false', LOG_LEVEL: 'error' });
let failures: string[];
try {
  console.log(`fuzzing ${app.url}: at most ${options.count} requests in ${options.seconds} s, seed ${options.seed}`);
  const report = await fuzzSignaling(app, options);
  const { checks } = report;
  console.log(`\n${report.sent} requests in ${fmt(report.seconds)} s`);
  console.log('answers by code:');
  for (const [code, n] of Object.entries(report.byCode).sort((a, b) => b[1] - a[1])) console.log(`  ${code.padEnd(16)} ${n}`);
  for (const [state, codes] of Object.entries(report.byState)) {
    console.log(`  ${state}: ${Object.entries(codes).map(([c, n]) => `${c} ${n}`).join(', ')}`);
  }
  for (const fault of report.faults.slice(0, 20)) console.log(`fault: ${fault}`);
  console.log('\nchecks:');
  console.log(`  server answering after the run: ${checks.answering ? 'yes' : 'NO'}`);
  console.log(`  INTERNAL answers: ${report.byCode.INTERNAL ?? 0} received, ${checks.internalOnServer} counted by the server`);
  console.log(`  unanswered requests: ${report.byCode.TIMEOUT ?? 0}`);
  console.log(`  media workers: ${checks.workersBefore} before, ${checks.workersAfter} after, ${checks.workerDeaths} died`);
  console.log(`  rooms closed once the clients left: ${checks.drained ? 'yes' : 'NO'}; Object.prototype clean: ${checks.prototypeClean ? 'yes' : 'NO'}`);
  const line = (u: typeof checks.before) =>
    `node RSS ${fmt(u.node.rssMb)} MB, fds ${u.node.fds}, tcp ${u.node.tcp}, udp ${u.node.udp}; workers RSS ${fmt(u.workers.rssMb)} MB, fds ${u.workers.fds}, udp ${u.workers.udp}, tcp ${u.workers.tcp}; handles ${JSON.stringify(u.handles)}`;
  console.log(`  before: ${line(checks.before)}`);
  console.log(`  after:  ${line(checks.after)}`);
  failures = fuzzFailures(report);
} finally {
  await app.close();
}
console.log(failures.length === 0 ? '\nOK' : `\nFAILED: ${failures.join('; ')}`);
process.exit(failures.length === 0 ? 0 : 1);
