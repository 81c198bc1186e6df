import type { Counter } from 'prom-client';
import type { Socket } from 'socket.io';
import type { z } from 'zod';
import { MAX_REQUEST_BYTES, type Ack } from '../../../protocol/signaling.ts';
import { RequestError, invalidRequest } from '../errors.ts';
import type { Logger } from '../log.ts';
import { TokenBucket } from './rateLimit.ts';

export type Schemas = Record<string, z.ZodType>;
export type Handlers<S extends Schemas> = { [N in keyof S]: (payload: z.infer<S[N]>) => Promise<unknown> };

export interface ServeOptions {
  /** Events a socket may send per second on average, and in a burst. */
  requestsPerSecond: number;
  requestBurst: number;
  /** Counts error acks by code. */
  errors: Counter<'code'>;
  log: Logger;
}

/**
 * The one edge between a socket and its request handlers, for every namespace: each event pays the
 * rate limit (with an ack or not; a socket sending more than a burst's worth into it is disconnected), and only an event with an ack, a known name, a payload within
 * MAX_REQUEST_BYTES and passing its schema reaches a handler. A RequestError comes back as its code;
 * anything else is our bug: logged with its stack, answered INTERNAL without a word of its insides.
 */
export function serveRequests<S extends Schemas>(socket: Socket, schemas: S, handlers: Handlers<S>, options: ServeOptions): void {
  const bucket = new TokenBucket(options.requestBurst, options.requestsPerSecond, Date.now());
  const fail = (reply: (a: Ack<never>) => void, error: RequestError) => {
    options.errors.inc({ code: error.code });
    reply({ ok: false, error: { code: error.code, message: error.message, ...(error.location !== undefined && { location: error.location }) } });
  };

  // Events refused by the rate limit since the last one let through: a client that keeps sending into
  // the limit, rather than slowing down, is disconnected.
  let refusedInARow = 0;
  socket.onAny((event: unknown, ...args: unknown[]) => {
    const ack = args.at(-1);
    const allowed = bucket.take(Date.now());
    refusedInARow = allowed ? 0 : refusedInARow + 1;
    if (refusedInARow > options.requestBurst) {
      options.log.warn('rate limit ignored; disconnected', { id: socket.id, address: socket.handshake.address });
      socket.disconnect(true);
      return;
    }
    if (typeof ack !== 'function') {
      options.log.debug('event without ack ignored', { event: String(event).slice(0, 64) });
      return;
    }
    const reply = ack as (a: Ack<unknown>) => void;
    if (!allowed) return fail(reply, new RequestError('RATE_LIMITED', 'too many requests; slow down'));
    if (typeof event !== 'string' || !Object.hasOwn(schemas, event)) {
      return fail(reply, new RequestError('UNKNOWN_REQUEST', `unknown request ${JSON.stringify(String(event).slice(0, 64))}`));
    }
    const name = event as keyof S & string;
    const payload = args.length > 1 ? args[0] : undefined;
    const size = jsonSize(payload);
    if (size > MAX_REQUEST_BYTES) {
      return fail(reply, new RequestError('TOO_LARGE', `${name} payload is ${size} bytes; the limit is ${MAX_REQUEST_BYTES}`));
    }
    const parsed = schemas[name]!.safeParse(payload);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
      return fail(reply, invalidRequest(`invalid ${name} request: ${problems}`));
    }
    let pending: Promise<unknown>;
    try {
      pending = handlers[name](parsed.data as z.infer<S[typeof name]>);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (data) => reply({ ok: true, data }),
      (error: unknown) => {
        if (error instanceof RequestError) return fail(reply, error);
        options.log.error('request failed', { request: name, error, stack: (error as Error | undefined)?.stack });
        options.errors.inc({ code: 'INTERNAL' });
        reply({ ok: false, error: { code: 'INTERNAL', message: `${name} failed on the server` } });
      },
    );
  });
}

function jsonSize(payload: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(payload) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
