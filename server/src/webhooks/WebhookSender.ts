import { randomUUID } from 'node:crypto';
import { WEBHOOK_HEADERS, type WebhookPayload } from '../../../protocol/webhooks.ts';
import { createLogger } from '../log.ts';
import { signWebhook } from './signature.ts';

const log = createLogger('webhooks');

export interface WebhookSenderOptions {
  urls: string[];
  secret: string;
  /** Deliveries waiting or being retried, all URLs together; a new one beyond it is dropped. */
  maxQueue: number;
  /** Attempts per delivery, the first included; then it is dropped. */
  maxAttempts: number;
  /** First retry after this, doubling each time (with up to 20% jitter), at most 60 s. */
  retryBaseMs: number;
  /** An attempt without an answer this long has failed. */
  timeoutMs: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** delivered / retried / dropped: counted as they happen. */
  onOutcome?: (outcome: 'delivered' | 'retried' | 'dropped', queued: number) => void;
}

interface Delivery {
  url: string;
  id: string;
  body: string;
  attempt: number;
  /** Not before this time (ms). */
  dueAt: number;
}

const MAX_RETRY_DELAY_MS = 60_000;

/** Delay before retry `attempt` (1 = the first retry): base doubling, capped, with up to 20% added at random. */
export function retryDelayMs(attempt: number, baseMs: number, random = Math.random()): number {
  const delay = Math.min(baseMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
  return Math.round(delay * (1 + 0.2 * random));
}

/**
 * Posts webhooks: each payload to every URL, signed (./signature.ts), retried with exponential backoff on a
 * non-2xx answer, a timeout or a network error, under one delivery id (receivers de-duplicate by it). The
 * queue is bounded: when a receiver is down long enough to fill it, new deliveries are dropped and counted,
 * never held in memory without limit.
 */
export class WebhookSender {
  readonly #queue: Delivery[] = [];
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #aborts = new Set<AbortController>();

  constructor(private readonly options: WebhookSenderOptions) {}

  get queued(): number {
    return this.#queue.length + this.#inFlight;
  }

  /** Queues `payload` (its `id` is made here) for every URL. */
  send(payload: Omit<WebhookPayload, 'id'>): void {
    if (this.#closed) return;
    for (const url of this.options.urls) {
      if (this.queued >= this.options.maxQueue) {
        log.warn('webhook queue full; delivery dropped', { url, event: payload.event });
        this.options.onOutcome?.('dropped', this.queued);
        continue;
      }
      const id = randomUUID();
      this.#queue.push({ url, id, body: JSON.stringify({ id, ...payload }), attempt: 0, dueAt: 0 });
    }
    this.#pump();
  }

  /** Stops: what is queued is dropped (a node going down does not wait on receivers). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const abort of this.#aborts) abort.abort();
    this.#queue.length = 0;
  }

  #pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed) return;
    const concurrency = this.options.concurrency ?? 4;
    const now = Date.now();
    while (this.#inFlight < concurrency) {
      const index = this.#queue.findIndex((d) => d.dueAt <= now);
      if (index < 0) break;
      const [delivery] = this.#queue.splice(index, 1);
      this.#inFlight += 1;
      void this.#attempt(delivery!).finally(() => {
        this.#inFlight -= 1;
        this.#pump();
      });
    }
    // Wake for the next retry that falls due.
    const next = Math.min(...this.#queue.map((d) => d.dueAt));
    if (Number.isFinite(next) && this.#inFlight < concurrency) this.#timer = setTimeout(() => this.#pump(), Math.max(0, next - now));
  }

  async #attempt(delivery: Delivery): Promise<void> {
    delivery.attempt += 1;
    const timestamp = Math.floor(Date.now() / 1000);
    const abort = new AbortController();
    this.#aborts.add(abort);
    const timeout = setTimeout(() => abort.abort(), this.options.timeoutMs);
    let failure: string | undefined;
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [WEBHOOK_HEADERS.id]: delivery.id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signWebhook(this.options.secret, delivery.id, timestamp, delivery.body),
        },
        body: delivery.body,
        signal: abort.signal,
        redirect: 'error',
      });
      // The answer's body is not wanted; reading it frees the connection.
      await response.arrayBuffer().catch(() => {});
      if (!response.ok) failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = (error as Error).message;
    } finally {
      clearTimeout(timeout);
      this.#aborts.delete(abort);
    }
    if (this.#closed) return;
    if (failure === undefined) {
      this.options.onOutcome?.('delivered', this.queued - 1);
      return;
    }
    if (delivery.attempt >= this.options.maxAttempts) {
      log.warn('webhook delivery dropped after its last attempt', { url: delivery.url, id: delivery.id, attempts: delivery.attempt, failure });
      this.options.onOutcome?.('dropped', this.queued - 1);
      return;
    }
    delivery.dueAt = Date.now() + retryDelayMs(delivery.attempt, this.options.retryBaseMs);
    this.#queue.push(delivery);
    this.options.onOutcome?.('retried', this.queued - 1);
  }
}
