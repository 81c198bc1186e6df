import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createLogger } from '../log.ts';
import type { Lookup } from './resolveSource.ts';
import { checkAddresses, type SourcePolicy } from './sourceAddress.ts';

const log = createLogger('ingest/proxy');

/** Connections through the proxy at once (an HLS source holds one or two); more are refused. */
const MAX_CONNECTIONS = 256;
/** A connection idle this long is closed. */
const IDLE_TIMEOUT_MS = 30_000;

/**
 * The HTTP proxy every http(s) source's ffmpeg goes through (`-http_proxy`, which ffmpeg's HLS demuxer passes
 * on to the playlists and segments it opens): each request's host is resolved here and checked like the
 * source's own URL (sourceAddress.ts), and the connection is made to the checked address. So an HLS playlist
 * naming segments on a refused host, a redirect ffmpeg would follow, or a name that resolves elsewhere the
 * second time (DNS rebinding) reaches nothing refused. Plain http is forwarded (absolute-form requests), https
 * tunnelled (CONNECT). It listens on loopback only.
 */
export class SourceProxy {
  readonly #sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(policy: SourcePolicy, lookup: Lookup): Promise<SourceProxy> {
    const server = http.createServer();
    server.maxConnections = MAX_CONNECTIONS;
    server.timeout = IDLE_TIMEOUT_MS;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxy = new SourceProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const target = async (host: string): Promise<{ address: string } | { refused: string }> => {
      const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
      let addresses: string[];
      try {
        addresses = await lookup(bare);
      } catch {
        return { refused: `${bare} did not resolve` };
      }
      const checked = checkAddresses(bare, addresses, policy);
      return checked.ok ? { address: checked.value[0]! } : { refused: checked.reason };
    };
    server.on('connection', (socket) => {
      proxy.#sockets.add(socket);
      socket.once('close', () => proxy.#sockets.delete(socket));
    });
    server.on('request', (req, res) => void proxy.#forward(req, res, target));
    server.on('connect', (req, socket, head) => void proxy.#tunnel(req, socket as net.Socket, head, target));
    return proxy;
  }

  close(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.server.close();
  }

  async #forward(req: http.IncomingMessage, res: http.ServerResponse, target: Target): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      return void res.writeHead(400).end('absolute-form http:// URL expected');
    }
    if (url.protocol !== 'http:') return void res.writeHead(400).end('only http:// is forwarded (https goes by CONNECT)');
    const to = await target(url.hostname);
    if ('refused' in to) return this.#refuse(url.host, to.refused, () => res.writeHead(403, { 'content-type': 'text/plain' }).end(to.refused));
    const upstream = http.request(
      { host: to.address, port: url.port || 80, path: `${url.pathname}${url.search}`, method: req.method, headers: req.headers, timeout: IDLE_TIMEOUT_MS },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('timeout', () => upstream.destroy());
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  async #tunnel(req: http.IncomingMessage, socket: net.Socket, head: Buffer, target: Target): Promise<void> {
    socket.on('error', () => socket.destroy());
    const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(req.url ?? '');
    if (!match) return void socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    const to = await target(match[1]!);
    if ('refused' in to) return this.#refuse(req.url!, to.refused, () => socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
    const upstream = net.connect(Number(match[2]), to.address);
    upstream.setTimeout(IDLE_TIMEOUT_MS, () => upstream.destroy());
    upstream.once('connect', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.once('close', () => upstream.destroy());
  }

  #refuse(host: string, reason: string, answer: () => void): void {
    log.warn('source request refused', { host, reason });
    answer();
  }
}

type Target = (host: string) => Promise<{ address: string } | { refused: string }>;
