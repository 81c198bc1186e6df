import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tokenKey, verifyParticipantToken, verifySubscriberToken } from '../../server/src/auth/tokens.ts';
import { isLoopback, loadConfig } from '../../server/src/config.ts';

const run = promisify(execFile);
const SECRET = 'a-secret-for-the-cli-0123456789abcdef';

describe('CALL_AUTH configuration', () => {
  it('is open on loopback by default, and refuses open on an address other machines reach unless forced', () => {
    expect(loadConfig({}).auth).toEqual({ mode: 'open', tokenSecret: undefined });
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/CALL_AUTH=open .* HOST=0\.0\.0\.0/);
    expect(() => loadConfig({ HOST: '192.168.1.10', CALL_AUTH: 'open' })).toThrow('CALL_AUTH_FORCE_OPEN');
    expect(loadConfig({ HOST: '0.0.0.0', CALL_AUTH_FORCE_OPEN: 'true' }).auth.mode).toBe('open');
  });

  it('needs a TOKEN_SECRET of 32+ characters for CALL_AUTH=token', () => {
    expect(() => loadConfig({ CALL_AUTH: 'token' })).toThrow('needs TOKEN_SECRET');
    expect(() => loadConfig({ CALL_AUTH: 'token', TOKEN_SECRET: 'short' })).toThrow('TOKEN_SECRET');
    expect(loadConfig({ HOST: '0.0.0.0', CALL_AUTH: 'token', TOKEN_SECRET: SECRET }).auth).toEqual({ mode: 'token', tokenSecret: SECRET });
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com']) expect(isLoopback(host), host).toBe(false);
  });
});

describe('npm run token', () => {
  const mint = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'server/src/tools/mintToken.ts', ...args], { env: { ...process.env, TOKEN_SECRET: SECRET } });

  it('mints participant and subscriber tokens the server accepts', async () => {
    const [participant, subscriber] = await Promise.all([
      mint('participant', '--room', 'demo', '--identity', 'alice', '--name', 'Alice', '--no-analysis', '--ttl', '120'),
      mint('subscriber', '--room', 'demo', '--peer', 'p1'),
    ]);
    const claims = await verifyParticipantToken(participant.stdout.trim(), tokenKey(SECRET));
    expect(claims).toMatchObject({ sub: 'alice', name: 'Alice', room: 'demo', grants: { join: true, publish: true, subscribeAffect: true, analysed: false } });
    expect(claims.exp - Date.now() / 1000).toBeGreaterThan(100);
    expect(claims.exp - Date.now() / 1000).toBeLessThanOrEqual(120);
    expect(await verifySubscriberToken(subscriber.stdout.trim(), tokenKey(SECRET))).toMatchObject({ room: 'demo', peer: 'p1' });
  });

  it('prints its usage and fails without what it needs', async () => {
    await expect(mint('participant', '--room', 'demo')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage:') });
  });
});
