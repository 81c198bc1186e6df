import { describe, expect, it } from 'vitest';
import { resolveSource, type Lookup } from '../../server/src/ingest/resolveSource.ts';
import type { SourcePolicy } from '../../server/src/ingest/sourceAddress.ts';
import { sourceInput } from '../../server/src/ingest/sourceInput.ts';

const STRICT: SourcePolicy = { allowPrivate: false, allowedHosts: [] };
/** Names this machine cannot make resolve where a test needs them: the resolver is the one part stood in for. */
const dns = (answers: Record<string, string[]>): Lookup => async (host) => {
  const found = answers[host];
  if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return found;
};

describe('resolveSource', () => {
  it('gives ffmpeg the checked address in place of the name (rtsp, rtmp, srt), brackets for IPv6', async () => {
    const lookup = dns({ 'cam.example.com': ['203.0.113.9'], 'v6.example.com': ['2001:db8::9', '203.0.113.10'] });
    expect(await resolveSource('rtsp://user:pw@cam.example.com:554/stream?x=1', STRICT, lookup)).toEqual({
      ok: true,
      value: { url: 'rtsp://user:pw@203.0.113.9:554/stream?x=1', scheme: 'rtsp' },
    });
    expect(await resolveSource('srt://v6.example.com:9000', STRICT, lookup)).toEqual({ ok: true, value: { url: 'srt://[2001:db8::9]:9000', scheme: 'srt' } });
    // TLS needs the name.
    expect(await resolveSource('rtmps://cam.example.com/live/key', STRICT, lookup)).toEqual({
      ok: true,
      value: { url: 'rtmps://cam.example.com/live/key', scheme: 'rtmps' },
    });
  });

  it('refuses a name when any address it resolves to is refused, or when it does not resolve', async () => {
    const lookup = dns({ 'mixed.example.com': ['203.0.113.9', '169.254.169.254'], 'inside.example.com': ['10.1.1.1'] });
    expect(await resolveSource('rtmp://mixed.example.com/live', STRICT, lookup)).toEqual({
      ok: false,
      reason: expect.stringContaining('mixed.example.com (169.254.169.254) is link-local'),
    });
    expect(await resolveSource('rtmp://inside.example.com/live', STRICT, lookup)).toMatchObject({ ok: false });
    expect(await resolveSource('rtmp://inside.example.com/live', { allowPrivate: false, allowedHosts: ['inside.example.com'] }, lookup)).toMatchObject({ ok: true });
    expect(await resolveSource('rtmp://nowhere.example.com/live', STRICT, lookup)).toEqual({ ok: false, reason: 'nowhere.example.com did not resolve (ENOTFOUND)' });
  });
});

describe('sourceInput', () => {
  const args = (url: string, scheme: Parameters<typeof sourceInput>[0]['scheme']) => sourceInput({ url, scheme }, 'http://127.0.0.1:9999').args;

  it('whitelists only what each scheme needs, RTSP over TCP', () => {
    const rtsp = args('rtsp://203.0.113.9/x', 'rtsp');
    expect(rtsp.slice(0, 2)).toEqual(['-protocol_whitelist', 'rtsp,tcp']);
    expect(rtsp.join(' ')).toContain('-rtsp_transport tcp');
    expect(args('rtmp://203.0.113.9/x', 'rtmp').slice(0, 2)).toEqual(['-protocol_whitelist', 'rtmp,tcp']);
    expect(args('srt://203.0.113.9:9000', 'srt').slice(0, 2)).toEqual(['-protocol_whitelist', 'srt']);
    for (const input of [rtsp, args('rtmp://203.0.113.9/x', 'rtmp')]) {
      expect(input).not.toContain('-re');
      expect(input).not.toContain('-http_proxy');
    }
    expect(rtsp.at(-2)).toBe('-i');
    expect(rtsp.at(-1)).toBe('rtsp://203.0.113.9/x');
  });

  it('reads http(s) at its own rate, through the checking proxy, following no redirect', () => {
    const https = args('https://cdn.example.com/live.m3u8', 'https');
    expect(https.slice(0, 2)).toEqual(['-protocol_whitelist', 'http,https,tls,tcp,crypto,httpproxy']);
    const joined = https.join(' ');
    expect(joined).toContain('-max_redirects 0');
    expect(joined).toContain('-http_proxy http://127.0.0.1:9999');
    expect(https).toContain('-re');
    expect(https.at(-1)).toBe('https://cdn.example.com/live.m3u8');
  });
});
