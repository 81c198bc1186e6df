import type { IncomingMessage } from 'node:http';

/**
 * The address a request came from, as per-address limits see it. Behind a reverse proxy every client shares
 * the proxy's address: with `trustProxy`, the last X-Forwarded-For entry is taken, the one the proxy in front
 * of this server appended (entries before it are whatever the client wrote). Only set it behind such a proxy.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',').at(-1)?.trim();
    if (last) return normalise(last);
  }
  return normalise(req.socket.remoteAddress ?? 'unknown');
}

/** An IPv4 client of a dual-stack listener shows up as ::ffff:a.b.c.d: one client, one key. */
function normalise(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}
