import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack } from '../../protocol/signaling.ts';
import type { App } from '../../server/src/app.ts';
import { ConfigError, loadConfig } from '../../server/src/config.ts';
import { startTestServer } from '../helpers/server.ts';

const run = promisify(execFile);

let dir: string;
let ca: Buffer;
let app: App;

/** GET over HTTPS, trusting only the development certificate. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dev-cert-'));
  await run('infra/dev-cert.sh', [dir]);
  ca = await readFile(path.join(dir, 'cert.pem'));
  app = await startTestServer({ TLS_CERT: path.join(dir, 'cert.pem'), TLS_KEY: path.join(dir, 'key.pem'), ANALYSIS_ENABLED: 'false' });
});

afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('HTTPS with TLS_CERT / TLS_KEY', () => {
  it('serves the call page and health over HTTPS with the certificate infra/dev-cert.sh made', async () => {
    expect(app.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const page = await get(`${app.url}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Affect call</title>');
    expect(JSON.parse((await get(`${app.url}/healthz`)).body)).toMatchObject({ status: 'ok' });
    // Plain HTTP on the same port gets nowhere.
    await expect(fetch(app.url.replace('https', 'http'))).rejects.toThrow();
  });

  it('carries signaling over wss: a join succeeds', async () => {
    const socket = io(app.url, { transports: ['websocket'], reconnection: false, ca: ca.toString() });
    try {
      await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
      const ack = (await socket.timeout(5000).emitWithAck('join', { roomId: 'tls', displayName: 'Over TLS' })) as Ack<{ displayName: string }>;
      expect(ack.ok && ack.data.displayName).toBe('Over TLS');
    } finally {
      socket.close();
    }
  });

  it('refuses a certificate without its key, and a key that is not the certificate\'s, with a clear error', async () => {
    expect(() => loadConfig({ TLS_CERT: path.join(dir, 'cert.pem') })).toThrow(/TLS_CERT and TLS_KEY go together/);
    const other = await mkdtemp(path.join(os.tmpdir(), 'dev-cert-'));
    try {
      await run('infra/dev-cert.sh', [other]);
      const wrongKey = startTestServer({ TLS_CERT: path.join(dir, 'cert.pem'), TLS_KEY: path.join(other, 'key.pem'), ANALYSIS_ENABLED: 'false' });
      await expect(wrongKey).rejects.toThrow(ConfigError);
      await expect(wrongKey).rejects.toThrow(/TLS_CERT\/TLS_KEY: .*key values mismatch/);
      const missing = startTestServer({ TLS_CERT: path.join(dir, 'nope.pem'), TLS_KEY: path.join(dir, 'key.pem'), ANALYSIS_ENABLED: 'false' });
      await expect(missing).rejects.toThrow(/TLS_CERT: cannot read .*nope\.pem \(ENOENT\)/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
