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

  it('answers one byte range with 206 and its part of the file, and an unsatisfiable one with 416', async () => {
    const url = `${app.url}/ffmpeg/ffmpeg-core.wasm`;
    const whole = await fetch(url);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    const bytes = Buffer.from(await whole.arrayBuffer());
    const size = bytes.byteLength;
    const ranged = async (range: string, extra: Record<string, string> = {}) => {
      const res = await fetch(url, { headers: { range, ...extra } });
      return { res, body: Buffer.from(await res.arrayBuffer()) };
    };
    for (const [range, start, end] of [
      ['bytes=0-99', 0, 99],
      ['bytes=1000000-', 1_000_000, size - 1],
      ['bytes=-500', size - 500, size - 1],
      [`bytes=${size - 10}-${size + 1000}`, size - 10, size - 1], // past the end: up to the end
      [`bytes=-${size + 1}`, 0, size - 1], // a suffix longer than the file: all of it
    ] as const) {
      const { res, body } = await ranged(range);
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${size}`);
      expect(Number(res.headers.get('content-length')), range).toBe(end - start + 1);
      expect(body.equals(bytes.subarray(start, end + 1)), range).toBe(true);
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 5}-${size + 10}`, 'bytes=-0']) {
      const { res, body } = await ranged(range);
      expect(res.status, range).toBe(416);
      expect(res.headers.get('content-range'), range).toBe(`bytes */${size}`);
      expect(body.byteLength, range).toBe(0);
    }
    // Several ranges, a reversed one, another unit, nonsense: the whole file.
    for (const range of ['bytes=0-1,5-6', 'bytes=5-3', 'items=0-1', 'bytes=x-y']) {
      const { res, body } = await ranged(range);
      expect(res.status, range).toBe(200);
      expect(body.equals(bytes), range).toBe(true);
    }
  });

  it('resumes with If-Range only while the ETag still matches, else sends the whole file', async () => {
    const url = `${app.url}/ffmpeg/ffmpeg-core.wasm`;
    const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag')!;
    const same = await fetch(url, { headers: { range: 'bytes=10-19', 'if-range': etag } });
    expect(same.status).toBe(206);
    expect((await same.arrayBuffer()).byteLength).toBe(10);
    for (const validator of ['"an-older-version"', `W/${etag}`, 'Wed, 21 Oct 2015 07:28:00 GMT']) {
      const changed = await fetch(url, { headers: { range: 'bytes=10-19', 'if-range': validator } });
      expect(changed.status, validator).toBe(200);
      expect(changed.headers.get('content-range'), validator).toBeNull();
      expect(Number(changed.headers.get('content-length')), validator).toBeGreaterThan(30_000_000);
      await changed.body?.cancel();
    }
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
