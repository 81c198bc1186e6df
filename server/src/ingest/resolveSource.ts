import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkAddresses, checkSourceUrl, type Checked, type SourcePolicy, type SourceScheme } from './sourceAddress.ts';

/** What ffmpeg is handed for a source, once its URL and every address it leads to have been checked. */
export interface ResolvedSource {
  /** The URL ffmpeg opens: for http(s) the end of its redirects; for rtsp, rtmp and srt its host replaced by the checked address. */
  url: string;
  scheme: SourceScheme;
}

export type Lookup = (host: string) => Promise<string[]>;

const MAX_REDIRECTS = 5;
const PROBE_TIMEOUT_MS = 5000;

export const systemLookup: Lookup = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Checks a source URL and resolves it to what ffmpeg may open. The host is resolved here and every address
 * checked (sourceAddress.ts). An http(s) URL is requested here, connecting only to the checked addresses,
 * and each redirect is checked the same way before it is followed; ffmpeg then gets the final URL and may
 * follow no redirect itself (sourceInput.ts). The other schemes get their checked address in place of
 * their host name, so that ffmpeg's own lookup cannot give it another (rtsps and rtmps keep the name: TLS
 * needs it).
 */
export async function resolveSource(text: string, policy: SourcePolicy, lookup: Lookup = systemLookup): Promise<Checked<ResolvedSource>> {
  let current = text;
  for (let hop = 0; ; hop++) {
    const checked = checkSourceUrl(current);
    if (!checked.ok) return hop === 0 ? checked : { ok: false, reason: `redirected to ${current}: ${checked.reason}` };
    const { url, scheme, host } = checked.value;
    if (hop > 0 && scheme !== 'http' && scheme !== 'https') return { ok: false, reason: `redirected to another scheme (${scheme})` };
    let addresses: string[];
    try {
      addresses = await lookup(host);
    } catch (error) {
      return { ok: false, reason: `${host} did not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    const allowed = checkAddresses(host, addresses, policy);
    if (!allowed.ok) return hop === 0 ? allowed : { ok: false, reason: `redirected to ${redacted(url)}: ${allowed.reason}` };
    if (scheme !== 'http' && scheme !== 'https') return { ok: true, value: { url: pinned(url, scheme, allowed.value[0]!), scheme } };
    const answer = await probe(url, allowed.value);
    if (!answer.ok) return answer;
    if (answer.value.location === undefined) return { ok: true, value: { url: url.href, scheme } };
    if (hop + 1 > MAX_REDIRECTS) return { ok: false, reason: `more than ${MAX_REDIRECTS} redirects` };
    current = new URL(answer.value.location, url).href;
  }
}

/** The URL as it may be shown back (listing, logs): without its user and password. */
export function redacted(url: URL | string): string {
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

/** ffmpeg's log lines name the URL it opens, password and all: what is shown of them leaves that out. */
export function withoutCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1');
}

function pinned(url: URL, scheme: SourceScheme, address: string): string {
  if (scheme === 'rtsps' || scheme === 'rtmps') return url.href;
  const copy = new URL(url);
  copy.hostname = address.includes(':') ? `[${address}]` : address;
  return copy.href;
}

/**
 * One request to a checked address (never to what a second lookup might return): a redirect's Location, or
 * that the source answers. The body is not read.
 */
function probe(url: URL, addresses: string[]): Promise<Checked<{ location?: string }>> {
  const lookup: LookupFunction = (_host, options, callback) => {
    const address = addresses[0]!;
    const family = address.includes(':') ? 6 : 4;
    if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const request = client.get(url, { lookup, timeout: PROBE_TIMEOUT_MS, headers: { 'user-agent': 'affect-call source check' } }, (response) => {
      const status = response.statusCode ?? 0;
      response.destroy();
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location) resolve({ ok: true, value: { location } });
      else if (status >= 200 && status < 300) resolve({ ok: true, value: {} });
      else resolve({ ok: false, reason: `${redacted(url)} answered HTTP ${status}` });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer in ${PROBE_TIMEOUT_MS} ms`)));
    request.on('error', (error) => resolve({ ok: false, reason: `${redacted(url)}: ${error.message}` }));
  });
}
