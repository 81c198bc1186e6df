import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Registry } from 'prom-client';
import { requestOriginAllowed } from './origin.ts';
import { readStaticFile, sendStaticFile } from './staticFiles.ts';

export interface HttpServerOptions {
  /** The built client (index.html and its bundle). */
  clientRoot: string;
  registry: Registry;
  health: () => Record<string, unknown>;
  /** Origins besides its own whose pages may use the server. */
  allowedOrigins: readonly string[];
  /** A bearer token /metrics asks for; public when undefined. */
  metricsToken: string | undefined;
  /** A connection that sends nothing for this long is closed. */
  idleTimeoutMs: number;
  /** PEM certificate (chain) and key: HTTPS (and socket.io over wss) instead of plain HTTP. */
  tls?: { cert: Buffer; key: Buffer };
  /**
   * Routes tried before anything else, whatever the method (each answers the methods it does not take);
   * each returns whether it took the request.
   */
  routes?: ((req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean)[];
}

/**
 * On every response: no content-type sniffing; no framing (a page that may turn the camera on must not be
 * overlaid by another site's); no Referer (the call page's address may carry a token).
 */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

/**
 * Serves the client, `GET /healthz` (JSON) and `GET /metrics` (Prometheus text), over HTTPS when given a
 * certificate. socket.io attaches to it.
 */
export function createHttpServer(options: HttpServerOptions): http.Server | https.Server {
  const handle: http.RequestListener = (req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!requestOriginAllowed(req, options.allowedOrigins)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('origin not allowed');
      return;
    }
    if (options.routes?.some((route) => route(req, res, url))) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(options.health()));
      return;
    }
    if (url.pathname === '/metrics') {
      if (options.metricsToken !== undefined && !bearerMatches(req.headers.authorization, options.metricsToken)) {
        res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
        return;
      }
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
      return;
    }
    readStaticFile(options.clientRoot, url.pathname).then((file) => {
      if (!file) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      sendStaticFile(req, res, file);
    });
  };
  const server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handle) : http.createServer(handle);
  server.timeout = options.idleTimeoutMs;
  return server;
}

/** Compares digests, so that neither the token's length nor its bytes show in the time taken. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(header ?? ''), digest(`Bearer ${token}`));
}
