import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzFailures, fuzzSignaling } from '../../bench/lib/signalingFuzz.ts';
import type { App } from '../../server/src/app.ts';
import { startTestServer } from '../helpers/server.ts';

let app: App;
beforeAll(async () => {
  app = await startTestServer({ TAP_ENABLED: 'false', ANALYSIS_ENABLED: 'false', LOG_LEVEL: 'error' });
});
afterAll(() => app?.close());

describe('signaling under fuzzing (a short npm run fuzz)', () => {
  it('answers 200 mutated requests from every protocol state without a fault, and lives on', async () => {
    const report = await fuzzSignaling(app, { count: 200, seconds: 25, seed: 15 });
    console.log(`fuzz: ${report.sent} requests in ${report.seconds.toFixed(1)} s, ${JSON.stringify(report.byCode)}`);
    expect(report.sent).toBe(200);
    expect(fuzzFailures(report)).toEqual([]);
    expect(report.checks.answering).toBe(true);
    // Mutations reached the handlers, not only the schema check.
    expect(report.byCode.OK).toBeGreaterThan(0);
    expect(report.byCode.NOT_FOUND).toBeGreaterThan(0);
  });
});
