import type { Namespace, Server, Socket } from 'socket.io';
import type { AffectStreamEvent } from '../../../protocol/affect-event.ts';
import {
  AFFECT_EVENT,
  AFFECT_NAMESPACE,
  subscriberRequestSchemas,
  type SubscriberClaims,
  type SubscriberRequestName,
  type Subscription,
} from '../../../protocol/affect-subscriber.ts';
import type { Ack } from '../../../protocol/signaling.ts';
import { createLogger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { backlogOf, watchBacklog } from './backlog.ts';
import { callChannel, peerChannel, roomChannel } from './channels.ts';
import { verifySubscriberToken } from './tokens.ts';

const log = createLogger('events');

export interface AffectHubOptions {
  /** HMAC secret that subscriber tokens are signed with. */
  tokenSecret: string;
  maxSubscribers: number;
  maxSubscriptionsPerSocket: number;
  /**
   * Messages a socket may have waiting to be written. A subscriber further behind is disconnected;
   * a call participant further behind skips affect events until it catches up. Either way the
   * others never wait for it.
   */
  maxBufferedMessages: number;
}

/** Sockets behind on reading: excluded from affect broadcasts (call namespace). */
const SLOW = 'slow';
const SWEEP_INTERVAL_MS = 250;

/**
 * Fans affect events out to the call participants of their room (their call socket, for the overlay)
 * and to the subscribers of the `/affect` namespace (by room, or by room and peer), authorised by
 * signed tokens. socket.io's connection-state recovery replays what a briefly disconnected subscriber
 * missed, so its sequence numbers stay contiguous.
 */
export class AffectHub {
  readonly #subscribers: Namespace;
  readonly #sweep: NodeJS.Timeout;

  constructor(
    private readonly io: Server,
    private readonly options: AffectHubOptions,
    private readonly metrics: Metrics,
  ) {
    this.#subscribers = io.of(AFFECT_NAMESPACE);
    this.#subscribers.use((socket, next) => {
      if (!socket.recovered && this.#subscribers.sockets.size >= options.maxSubscribers) {
        next(new Error(`the server is at its limit of ${options.maxSubscribers} subscribers`));
        return;
      }
      try {
        socket.data.claims = verifySubscriberToken(socket.handshake.auth?.token, options.tokenSecret);
        next();
      } catch (error) {
        next(new Error(`unauthorized: ${(error as Error).message}`));
      }
    });
    this.#subscribers.on('connection', (socket) => this.#onSubscriber(socket));
    io.on('connection', watchBacklog);
    this.#sweep = setInterval(() => this.#policeSlowSockets(), SWEEP_INTERVAL_MS);
  }

  publish(event: AffectStreamEvent): void {
    this.io.to(callChannel(event.roomId)).except(SLOW).emit(AFFECT_EVENT, event);
    this.#subscribers.to([roomChannel(event.roomId), peerChannel(event.roomId, event.peerId)]).emit(AFFECT_EVENT, event);
    this.metrics.affectEvents.inc({ type: event.type });
  }

  close(): void {
    clearInterval(this.#sweep);
    this.#subscribers.disconnectSockets(true);
  }

  #onSubscriber(socket: Socket): void {
    watchBacklog(socket);
    this.metrics.subscribers.set(this.#subscribers.sockets.size);
    socket.on('disconnect', () => this.metrics.subscribers.set(this.#subscribers.sockets.size));
    const claims = socket.data.claims as SubscriberClaims;
    const handle = (name: SubscriberRequestName, payload: unknown, ack: unknown) => {
      if (typeof ack !== 'function') return;
      const reply = ack as (a: Ack<Record<string, never>>) => void;
      const parsed = subscriberRequestSchemas[name].safeParse(payload);
      if (!parsed.success) {
        reply({ ok: false, error: { code: 'INVALID_REQUEST', message: `invalid ${name} request: ${parsed.error.issues[0]?.message}` } });
        return;
      }
      const subscription = parsed.data;
      if (subscription.roomId !== claims.room || (claims.peer !== undefined && subscription.peerId !== claims.peer)) {
        reply({ ok: false, error: { code: 'NOT_FOUND', message: 'this token does not grant that subscription' } });
        return;
      }
      const channel = channelOf(subscription);
      if (name === 'subscribe') {
        const current = [...socket.rooms].filter((room) => room !== socket.id).length;
        if (!socket.rooms.has(channel) && current >= this.options.maxSubscriptionsPerSocket) {
          reply({ ok: false, error: { code: 'LIMIT_EXCEEDED', message: `at most ${this.options.maxSubscriptionsPerSocket} subscriptions` } });
          return;
        }
        void socket.join(channel);
      } else {
        void socket.leave(channel);
      }
      reply({ ok: true, data: {} });
    };
    socket.on('subscribe', (payload: unknown, ack: unknown) => handle('subscribe', payload, ack));
    socket.on('unsubscribe', (payload: unknown, ack: unknown) => handle('unsubscribe', payload, ack));
  }

  #policeSlowSockets(): void {
    const { maxBufferedMessages } = this.options;
    for (const socket of this.#subscribers.sockets.values()) {
      const buffered = backlogOf(socket);
      if (buffered > maxBufferedMessages) {
        log.warn('subscriber too slow; disconnected', { id: socket.id, buffered });
        this.metrics.slowSubscribers.inc();
        socket.disconnect(true);
      }
    }
    for (const socket of this.io.sockets.sockets.values()) {
      const slow = backlogOf(socket) > maxBufferedMessages;
      if (slow && !socket.rooms.has(SLOW)) void socket.join(SLOW);
      else if (!slow && socket.rooms.has(SLOW)) void socket.leave(SLOW);
    }
  }
}

function channelOf({ roomId, peerId }: Subscription): string {
  return peerId === undefined ? roomChannel(roomId) : peerChannel(roomId, peerId);
}
