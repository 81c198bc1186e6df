import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/src/config.ts';
import { startTestServer } from '../helpers/server.ts';
import { freePort } from '../helpers/redisServer.ts';

const SECRET = 'a-webhook-secret-0123456789abcdef';

describe('several-nodes and webhook configuration', () => {
  it('is a single node without webhooks by default', () => {
    const config = loadConfig({});
    expect(config.cluster).toBeUndefined();
    expect(config.webhooks).toBeUndefined();
  });

  it('reads REDIS_URL and the node settings, and refuses what is not a redis URL', () => {
    const config = loadConfig({ REDIS_URL: 'redis://10.0.0.5:6379', NODE_ID: 'n1', PUBLIC_URL: 'https://a.example.com/', NODE_HEARTBEAT_MS: '500' });
    expect(config.cluster).toMatchObject({ redisUrl: 'redis://10.0.0.5:6379', nodeId: 'n1', publicUrl: 'https://a.example.com', heartbeatMs: 500 });
    expect(config.cluster?.history).toEqual({ maxEvents: 20_000, maxAgeMs: 3_600_000, readMaxEvents: 10_000, resumeMaxEvents: 2_000 });
    expect(() => loadConfig({ REDIS_URL: 'http://10.0.0.5:6379' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: 'redis://x', PUBLIC_URL: 'ftp://a' })).toThrow(/PUBLIC_URL/);
  });

  it('takes webhook URLs only with a secret, and only http(s) ones', () => {
    expect(() => loadConfig({ WEBHOOK_URLS: 'https://hooks.example.com/in' })).toThrow('needs WEBHOOK_SECRET');
    expect(() => loadConfig({ WEBHOOK_URLS: 'ftp://hooks.example.com', WEBHOOK_SECRET: SECRET })).toThrow('not http(s)');
    expect(() => loadConfig({ WEBHOOK_URLS: 'not a url', WEBHOOK_SECRET: SECRET })).toThrow('not a URL');
    const config = loadConfig({ WEBHOOK_URLS: 'https://a.example.com/in, http://b:8080/', WEBHOOK_SECRET: SECRET });
    expect(config.webhooks).toMatchObject({ urls: ['https://a.example.com/in', 'http://b:8080/'], affectIntervalMs: 5000, maxAttempts: 8 });
  });

  it('refuses to start when Redis cannot be reached, saying so', async () => {
    // Nothing listens there: the first connection must stand within its timeout.
    const port = await freePort();
    await expect(startTestServer({ REDIS_URL: `redis://127.0.0.1:${port}`, TAP_ENABLED: 'false', ANALYSIS_ENABLED: 'false' })).rejects.toThrow(
      /REDIS_URL: cannot reach Redis/,
    );
  });
});
