import type { IncomingMessage } from 'node:http';

/**
 * Whether a request may be served, judged by its Origin header: its own origin (the Origin's host is the
 * Host it was sent to), or one of `allowed`. A request without Origin is not from a page on another site
 * (browsers send it on every WebSocket and cross-origin request), so a non-browser client passes.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false; // "null" (a sandboxed page, a file) and anything else that is not a URL
  }
}

export function requestOriginAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  return originAllowed(req.headers.origin, req.headers.host, allowed);
}
