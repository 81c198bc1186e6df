import { isIP } from 'node:net';

/**
 * Which URLs a pulled source may have, and which addresses its host may resolve to: the server must not be
 * made to reach what only it can reach (its own ports, cloud metadata at 169.254.169.254, the private network
 * behind it) unless an operator says so. Pure: resolving the name is the caller's (resolveSource.ts).
 */
export interface SourcePolicy {
  /** Private, loopback and link-local addresses are allowed too (SOURCE_ALLOW_PRIVATE). */
  allowPrivate: boolean;
  /** Host names (or literal addresses) allowed whatever they resolve to (SOURCE_ALLOWED_HOSTS), lower case. */
  allowedHosts: readonly string[];
}

/** Schemes ffmpeg may pull from; anything else (file:, concat:, subfile:, data:, pipe:...) is refused. */
export const SOURCE_SCHEMES = ['rtsp', 'rtsps', 'rtmp', 'rtmps', 'srt', 'http', 'https'] as const;
export type SourceScheme = (typeof SOURCE_SCHEMES)[number];

export const MAX_SOURCE_URL_LENGTH = 2048;

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface SourceUrl {
  url: URL;
  scheme: SourceScheme;
  /** The host without IPv6 brackets, lower case. */
  host: string;
}

/** [first address, prefix length, what it is] of the IPv4 ranges a source may not reach by default. */
const REFUSED_V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'this network (0.0.0.0/8)'],
  ['10.0.0.0', 8, 'private (10/8)'],
  ['100.64.0.0', 10, 'carrier-grade NAT (100.64/10)'],
  ['127.0.0.0', 8, 'loopback (127/8)'],
  ['169.254.0.0', 16, 'link-local (169.254/16, cloud metadata)'],
  ['172.16.0.0', 12, 'private (172.16/12)'],
  ['192.0.0.0', 24, 'IETF protocol assignments (192.0.0/24)'],
  ['192.168.0.0', 16, 'private (192.168/16)'],
  ['198.18.0.0', 15, 'benchmarking (198.18/15)'],
  ['224.0.0.0', 4, 'multicast (224/4)'],
  ['240.0.0.0', 4, 'reserved (240/4, broadcast)'],
];

const REFUSED_V6: [bigint, number, string][] = [
  [0n, 128, 'unspecified (::)'],
  [1n, 128, 'loopback (::1)'],
  [0xfc00n << 112n, 7, 'unique local (fc00::/7)'],
  [0xfe80n << 112n, 10, 'link-local (fe80::/10)'],
  [0xfec0n << 112n, 10, 'site-local (fec0::/10)'],
  [0xff00n << 112n, 8, 'multicast (ff00::/8)'],
];

function v4ToInt(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function v6ToBigInt(address: string): bigint {
  let text = address.toLowerCase().split('%')[0]!;
  // A dotted IPv4 tail (::ffff:1.2.3.4) becomes its two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = v4ToInt(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)];
  return all.reduce((n, group) => (n << 16n) | BigInt(parseInt(group || '0', 16)), 0n);
}

/** An IPv4 address inside an IPv6 one that reaches it: mapped (::ffff:a.b.c.d), or NAT64 (64:ff9b::a.b.c.d). */
function embeddedV4(n: bigint): string | undefined {
  const high = n >> 32n;
  if (high !== 0xffffn && high !== 0x64ff9b0000000000000000n) return undefined;
  const v4 = Number(n & 0xffffffffn);
  return [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.');
}

/**
 * Why a source may not reach `address` (a literal IPv4 or IPv6 address) by default; undefined when it is a
 * public address. Anything that is not an address is refused as such.
 */
export function addressRefusal(address: string): string | undefined {
  const family = isIP(address.split('%')[0]!);
  if (family === 4) {
    const n = v4ToInt(address);
    for (const [first, bits, what] of REFUSED_V4) {
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      if (((n & mask) >>> 0) === v4ToInt(first)) return what;
    }
    return undefined;
  }
  if (family === 6) {
    const n = v6ToBigInt(address);
    const v4 = embeddedV4(n);
    if (v4 !== undefined) return addressRefusal(v4);
    for (const [first, bits, what] of REFUSED_V6) {
      const shift = BigInt(128 - bits);
      if (n >> shift === first >> shift) return what;
    }
    return undefined;
  }
  return 'not an IP address';
}

/** Whether the operator allowed this host outright (SOURCE_ALLOWED_HOSTS). */
export function hostAllowed(host: string, policy: SourcePolicy): boolean {
  return policy.allowedHosts.includes(host.toLowerCase());
}

/** The URL's syntax and scheme, before anything is resolved. */
export function checkSourceUrl(text: string): Checked<SourceUrl> {
  if (text.length > MAX_SOURCE_URL_LENGTH) return { ok: false, reason: `URL longer than ${MAX_SOURCE_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: 'not an absolute URL' };
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (!(SOURCE_SCHEMES as readonly string[]).includes(scheme)) {
    return { ok: false, reason: `scheme ${scheme}: not allowed (one of ${SOURCE_SCHEMES.join(', ')})` };
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === '') return { ok: false, reason: 'URL has no host' };
  return { ok: true, value: { url, scheme: scheme as SourceScheme, host } };
}

/**
 * What can be refused of a URL without resolving anything (its syntax, its scheme, a literal address): a
 * request refused here costs nothing, so it need not count against any limit.
 */
export function precheckSourceUrl(text: string, policy: SourcePolicy): Checked<SourceUrl> {
  const checked = checkSourceUrl(text);
  if (!checked.ok || isIP(checked.value.host) === 0) return checked;
  const allowed = checkAddresses(checked.value.host, [checked.value.host], policy);
  return allowed.ok ? checked : allowed;
}

/**
 * Whether a host that resolved to `addresses` may be reached: every address must be public (a name
 * resolving to one public and one private address would let ffmpeg pick the private one), unless the
 * operator allows private addresses or this host.
 */
export function checkAddresses(host: string, addresses: readonly string[], policy: SourcePolicy): Checked<string[]> {
  if (addresses.length === 0) return { ok: false, reason: `${host} did not resolve` };
  if (policy.allowPrivate || hostAllowed(host, policy)) return { ok: true, value: [...addresses] };
  for (const address of addresses) {
    const refusal = addressRefusal(address);
    if (refusal !== undefined) {
      const shown = address === host ? host : `${host} (${address})`;
      return {
        ok: false,
        reason: `${shown} is ${refusal}: not allowed (an operator may allow it with SOURCE_ALLOW_PRIVATE or SOURCE_ALLOWED_HOSTS)`,
      };
    }
  }
  return { ok: true, value: [...addresses] };
}
