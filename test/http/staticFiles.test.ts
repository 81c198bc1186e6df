import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/src/app.ts';
import { startTestServer } from '../helpers/server.ts';

let app: App;
beforeAll(async () => {
  app = await startTestServer({ TAP_ENABLED: 'false' });
});
afterAll(() => app.close());

describe('the client files', () => {
  it('serves the ffmpeg core with an ETag and answers a revalidation with 304, no body', async () => {
    const first = await fetch(`${app.url}/ffmpeg/ffmpeg-core.wasm`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/wasm');
    const body = await first.arrayBuffer();
    expect(Number(first.headers.get('content-length'))).toBe(body.byteLength);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);

    const again = await fetch(`${app.url}/ffmpeg/ffmpeg-core.wasm`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
  });

  it('serves index.html at / and nothing outside the client folder', async () => {
    const index = await fetch(`${app.url}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<html');
    for (const path of ['/..%2fpackage.json', '/%2e%2e/package.json', '/ffmpeg/', '/nope.js']) {
      expect((await fetch(`${app.url}${path}`)).status, path).toBe(404);
    }
  });

  it('sends security headers with every response', async () => {
    for (const path of ['/', '/nope.js', '/healthz']) {
      const { headers } = await fetch(`${app.url}${path}`);
      expect(headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(headers.get('x-frame-options'), path).toBe('DENY');
      expect(headers.get('content-security-policy'), path).toBe("frame-ancestors 'none'");
      expect(headers.get('referrer-policy'), path).toBe('no-referrer');
    }
  });
});
