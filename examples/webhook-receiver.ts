/**
 * A webhook receiver: checks each webhook's signature and freshness, acts on each delivery once (a retry
 * of one already handled is acknowledged and ignored), and answers 2xx only once it has handled it.
 *
 *   WEBHOOK_SECRET=... PORT=8080 npx tsx examples/webhook-receiver.ts
 *   # and the server with WEBHOOK_URLS=http://127.0.0.1:8080/ WEBHOOK_SECRET=<the same>
 *
 * createWebhookReceiver() is the part to copy into a backend; the rest runs it as a program.
 */
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { WEBHOOK_HEADERS, WebhookPayloadSchema, type WebhookPayload } from '../protocol/webhooks.ts';
import { verifyWebhook } from '../server/src/webhooks/signature.ts';

/** A body larger than this is refused unread (the server's biggest, an `affect` batch of many faces, is far below). */
const MAX_BODY_BYTES = 1024 * 1024;
/** Delivery ids remembered for de-duplication: more than a sender retries within. */
const REMEMBERED_IDS = 10_000;

export interface ReceiverOptions {
  secret: string;
  /** Called once per delivery id, with the payload checked against the schema. */
  onWebhook: (payload: WebhookPayload) => void | Promise<void>;
}

export function createWebhookReceiver({ secret, onWebhook }: ReceiverOptions): http.RequestListener {
  // Insertion-ordered: the oldest id is forgotten first.
  const handled = new Set<string>();
  return (req, res) => {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => [req.headers[name]].flat()[0];
      const id = header(WEBHOOK_HEADERS.id);
      const authentic = verifyWebhook(secret, { id, timestamp: header(WEBHOOK_HEADERS.timestamp), signature: header(WEBHOOK_HEADERS.signature) }, body);
      if (!authentic || id === undefined) return void res.writeHead(401).end('bad signature');
      if (handled.has(id)) return void res.writeHead(200).end('already handled');
      let payload: WebhookPayload;
      try {
        payload = WebhookPayloadSchema.parse(JSON.parse(body));
      } catch {
        return void res.writeHead(400).end('not a webhook payload');
      }
      // The signed header and the body must name the same delivery.
      if (payload.id !== id) return void res.writeHead(400).end('id mismatch');
      Promise.resolve(onWebhook(payload)).then(
        () => {
          handled.add(id);
          if (handled.size > REMEMBERED_IDS) handled.delete(handled.values().next().value!);
          res.writeHead(204).end();
        },
        // Not handled: a 5xx makes the sender try again later.
        () => res.writeHead(500).end(),
      );
    });
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const secret = process.env.WEBHOOK_SECRET;
  if (!secret) {
    console.error('set WEBHOOK_SECRET (the server\'s)');
    process.exit(2);
  }
  const port = Number(process.env.PORT ?? 8080);
  http
    .createServer(createWebhookReceiver({ secret, onWebhook: (payload) => console.log(JSON.stringify(payload)) }))
    .listen(port, '127.0.0.1', () => console.error(`webhook receiver on http://127.0.0.1:${port}/`));
}
