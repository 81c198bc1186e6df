import { describe, expect, it } from 'vitest';
import { redacted, withoutCredentials } from '../../server/src/ingest/resolveSource.ts';
import { addressRefusal, checkAddresses, checkSourceUrl, precheckSourceUrl, type SourcePolicy } from '../../server/src/ingest/sourceAddress.ts';

const STRICT: SourcePolicy = { allowPrivate: false, allowedHosts: [] };

describe('addressRefusal', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'this network'],
    ['10.1.2.3', 'private (10/8)'],
    ['172.16.0.1', 'private (172.16/12)'],
    ['172.31.255.255', 'private (172.16/12)'],
    ['192.168.1.1', 'private (192.168/16)'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['169.254.169.254', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback (::1)'],
    ['fe80::1', 'link-local (fe80::/10)'],
    ['febf::1', 'link-local (fe80::/10)'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['::ffff:127.0.0.1', 'loopback (127/8)'],
    ['::ffff:7f00:1', 'loopback (127/8)'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::10.0.0.1', 'private (10/8)'],
    ['example.com', 'not an IP address'],
  ])('refuses %s (%s)', (address, what) => {
    expect(addressRefusal(address)).toContain(what);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '172.15.255.255', '100.128.0.1', '169.255.0.1', '2001:4860:4860::8888', '2606:4700::1111', '2a00::1'])(
    'allows the public address %s',
    (address) => {
      expect(addressRefusal(address)).toBeUndefined();
    },
  );
});

describe('checkSourceUrl', () => {
  it.each([
    'rtsp://camera.example.com:554/stream1',
    'rtsps://camera.example.com/stream1',
    'rtmp://live.example.com/app/key',
    'rtmps://live.example.com/app/key',
    'srt://203.0.113.7:9000?streamid=x',
    'http://cdn.example.com/live/x.m3u8',
    'https://cdn.example.com/file.mp4',
    'https://[2001:db8::1]/file.mp4',
  ])('takes %s', (url) => {
    const checked = checkSourceUrl(url);
    expect(checked.ok).toBe(true);
  });

  it.each([
    ['file:///etc/passwd', 'scheme file'],
    ['concat:http://a.example/x.ts|http://b.example/y.ts', 'scheme concat'],
    ['subfile:,start,10,end,0,:/etc/passwd', 'scheme subfile'],
    ['data:video/mp4;base64,AAAA', 'scheme data'],
    ['pipe:0', 'scheme pipe'],
    ['gopher://example.com/', 'scheme gopher'],
    ['udp://203.0.113.7:5000', 'scheme udp'],
    ['/etc/passwd', 'not an absolute URL'],
    ['rtsp://', 'URL has no host'],
  ])('refuses %s (%s)', (url, reason) => {
    const checked = checkSourceUrl(url);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toContain(reason);
  });

  it('refuses a URL longer than 2048 characters', () => {
    expect(checkSourceUrl(`https://example.com/${'a'.repeat(2100)}`)).toEqual({ ok: false, reason: 'URL longer than 2048 characters' });
  });

  it('keeps the host without brackets, lower case', () => {
    const checked = checkSourceUrl('rtsp://[FE80::1]:554/x');
    expect(checked.ok && checked.value.host).toBe('fe80::1');
  });
});

describe('checkAddresses', () => {
  it('refuses a name when any of its addresses is private, and says which', () => {
    const checked = checkAddresses('cam.example.com', ['203.0.113.7', '10.0.0.5'], STRICT);
    expect(checked).toEqual({ ok: false, reason: expect.stringContaining('cam.example.com (10.0.0.5) is private (10/8)') });
    expect(checkAddresses('cam.example.com', ['203.0.113.7', '2001:db8::7'], STRICT).ok).toBe(true);
    expect(checkAddresses('nothing.example', [], STRICT)).toEqual({ ok: false, reason: 'nothing.example did not resolve' });
  });

  it('allows private addresses, or one host, when the operator says so', () => {
    expect(checkAddresses('127.0.0.1', ['127.0.0.1'], { allowPrivate: true, allowedHosts: [] }).ok).toBe(true);
    expect(checkAddresses('cam.lan', ['192.168.1.20'], { allowPrivate: false, allowedHosts: ['cam.lan'] }).ok).toBe(true);
    expect(checkAddresses('other.lan', ['192.168.1.21'], { allowPrivate: false, allowedHosts: ['cam.lan'] }).ok).toBe(false);
  });
});

describe('precheckSourceUrl', () => {
  it('refuses what needs no lookup (syntax, scheme, a literal address) and leaves names to the resolver', () => {
    expect(precheckSourceUrl('rtsp://10.0.0.7/x', STRICT)).toEqual({ ok: false, reason: expect.stringContaining('10.0.0.7 is private (10/8)') });
    expect(precheckSourceUrl('rtsp://[fe80::1]/x', STRICT)).toEqual({ ok: false, reason: expect.stringContaining('link-local') });
    expect(precheckSourceUrl('file:///etc/passwd', STRICT).ok).toBe(false);
    expect(precheckSourceUrl('rtsp://10.0.0.7/x', { allowPrivate: true, allowedHosts: [] }).ok).toBe(true);
    expect(precheckSourceUrl('rtsp://camera.internal/x', STRICT).ok).toBe(true);
  });
});

describe('withoutCredentials', () => {
  it('leaves user and password out of every URL in a log line', () => {
    expect(withoutCredentials('rtsp://admin:s3cret@203.0.113.7:554/x: Connection refused; rtmp://u@h/a')).toBe(
      'rtsp://203.0.113.7:554/x: Connection refused; rtmp://h/a',
    );
    expect(redacted('rtsp://admin:s3cret@cam.example.com/stream')).toBe('rtsp://cam.example.com/stream');
  });
});
