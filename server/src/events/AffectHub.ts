import type { Namespace, Server, Socket } from 'socket.io';
import type { AffectStreamEvent } from '../../../protocol/affect-event.ts';
import {
  AFFECT_EVENT,
  AFFECT_NAMESPACE,
  PARTICIPANT_EVENT,
  subscriberRequestSchemas,
  type ParticipantUpdate,
  type SubscribeResult,
  type Subscription,
} from '../../../protocol/affect-subscriber.ts';
import type { SubscriberClaims } from '../../../protocol/tokens.ts';
import { guardRecovery } from '../auth/recovery.ts';
import { CLOCK_TOLERANCE_S, verifySubscriberToken, type TokenKey } from '../auth/tokens.ts';
import { forbidden, limitExceeded } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { serveRequests } from '../signaling/serveRequests.ts';
import type { AffectHistory } from '../cluster/affectHistory.ts';
import { backlogOf, watchBacklog } from './backlog.ts';
import { callChannel, peerChannel, roomChannel } from '../signaling/channels.ts';

const log = createLogger('events');

export interface AffectHubOptions {
  /** The key subscriber tokens are signed with. */
  tokenKey: TokenKey;
  /** Whether a call participant is still in its room: the tokens handed to participants live only that long. */
  participantPresent: (roomId: string, peerId: string) => boolean;
  /**
   * Several nodes: whether a participant is in its room on another node (the room directory). A dashboard
   * token then works on any node, and a participant's leaving revokes its tokens on every node.
   */
  participantPresentElsewhere?: (roomId: string, peerId: string) => Promise<boolean>;
  /** The participants of a room now, each as a `participant` message (present); asked of Redis for another node's room. */
  participants: (roomId: string) => ParticipantUpdate[] | Promise<ParticipantUpdate[]>;
  /** Requests per second a subscriber may make on average, and in a burst. */
  requestsPerSecond: number;
  requestBurst: number;
  maxSubscribers: number;
  maxSubscriptionsPerSocket: number;
  maxSubscribersPerToken: number;
  /**
   * Messages a socket may have waiting to be written. A subscriber further behind is disconnected;
   * a call participant further behind skips affect events until it catches up. Either way the
   * others never wait for it.
   */
  maxBufferedMessages: number;
  /**
   * Several nodes: the rooms' durable history. Every event is appended before it is broadcast, and a
   * `subscribe` with `since` gets up to `resumeMaxEvents` of it in its ack.
   */
  history?: { store: Pick<AffectHistory, 'append' | 'read'>; resumeMaxEvents: number };
  /** Also told every event published (webhooks). */
  observers?: ((event: AffectStreamEvent) => void)[];
}

/** Between nodes (socket.io's serverSideEmit): a participant left, end its tokens' subscriber connections. */
const REVOKE_EVENT = 'affect-call:revoke-participant';
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
      const token: unknown = socket.handshake.auth?.token;
      verifySubscriberToken(token, options.tokenKey).then(
        async (claims) => {
          const here = this.#participantPresent(claims);
          if (!here && !(await this.#participantPresentElsewhere(claims))) {
            next(new Error('unauthorized: the participant this token was issued to has left'));
            return;
          }
          // Its participant is on another node: that node's revocation reaches it (REVOKE_EVENT), not a local check.
          socket.data.participantElsewhere = !here;
          const sameToken = [...this.#subscribers.sockets.values()].filter((other) => other.data.token === token).length;
          if (sameToken >= options.maxSubscribersPerToken) {
            next(new Error(`this token already has ${options.maxSubscribersPerToken} connections`));
            return;
          }
          socket.data.claims = claims;
          socket.data.token = token;
          next();
        },
        (error: Error) => next(new Error(`unauthorized: ${error.message}`)),
      );
    });
    // A subscriber back within the recovery window gets what it missed only if its token still holds.
    guardRecovery(this.#subscribers, (data) => {
      const claims = data.claims as SubscriberClaims | undefined;
      return claims !== undefined && (claims.exp + CLOCK_TOLERANCE_S) * 1000 > Date.now() && this.#participantPresent(claims);
    });
    this.#subscribers.on('connection', (socket) => this.#onSubscriber(socket));
    // Another node's participant left: its tokens' connections here end too.
    if (options.participantPresentElsewhere) {
      this.#subscribers.on(REVOKE_EVENT, (peerId: unknown) => {
        if (typeof peerId === 'string') this.#disconnectParticipant(peerId);
      });
    }
    io.on('connection', watchBacklog);
    this.#sweep = setInterval(() => this.#policeSlowSockets(), SWEEP_INTERVAL_MS);
  }

  publish(event: AffectStreamEvent): void {
    this.options.history?.store.append(event);
    this.io.to(callChannel(event.roomId)).except(SLOW).emit(AFFECT_EVENT, event);
    this.#subscribers.to([roomChannel(event.roomId), peerChannel(event.roomId, event.peerId)]).emit(AFFECT_EVENT, event);
    this.metrics.affectEvents.inc({ type: event.type });
    for (const observe of this.options.observers ?? []) observe(event);
  }

  /** Tells the subscribers covering this participant (its room's, and its own peer's) who it is now. */
  publishParticipant(update: ParticipantUpdate): void {
    this.#subscribers.to([roomChannel(update.roomId), peerChannel(update.roomId, update.peerId)]).emit(PARTICIPANT_EVENT, update);
  }

  get subscriberCount(): number {
    return this.#subscribers.sockets.size;
  }

  /** Ends the connections made with the tokens handed to a participant, which has left: on every node. */
  revokeParticipant(peerId: string): void {
    this.#disconnectParticipant(peerId);
    if (this.options.participantPresentElsewhere) this.#subscribers.serverSideEmit(REVOKE_EVENT, peerId);
  }

  #disconnectParticipant(peerId: string): void {
    for (const socket of this.#subscribers.sockets.values()) {
      if ((socket.data.claims as SubscriberClaims).participant === peerId) socket.disconnect(true);
    }
  }

  async #participantPresentElsewhere(claims: SubscriberClaims): Promise<boolean> {
    const elsewhere = this.options.participantPresentElsewhere;
    return claims.participant !== undefined && elsewhere !== undefined && elsewhere(claims.room, claims.participant).catch(() => false);
  }

  close(): void {
    clearInterval(this.#sweep);
    // Only this node's: with a cluster adapter a plain disconnectSockets reaches every node's subscribers.
    this.#subscribers.local.disconnectSockets(true);
  }

  #onSubscriber(socket: Socket): void {
    watchBacklog(socket);
    this.metrics.subscribers.set(this.#subscribers.sockets.size);
    socket.on('disconnect', () => this.metrics.subscribers.set(this.#subscribers.sockets.size));
    const claims = socket.data.claims as SubscriberClaims;
    // The participant may have left between the token check and now.
    if (socket.data.participantElsewhere !== true && !this.#participantPresent(claims)) {
      socket.disconnect(true);
      return;
    }
    const granted = (subscription: Subscription) => {
      if (subscription.roomId !== claims.room || (claims.peer !== undefined && subscription.peerId !== claims.peer)) {
        throw forbidden('this token does not grant that subscription');
      }
      return channelOf(subscription);
    };
    const empty = {} as Record<string, never>;
    serveRequests(
      socket,
      subscriberRequestSchemas,
      {
        subscribe: async (subscription) => {
          const channel = granted(subscription);
          const current = [...socket.rooms].filter((room) => room !== socket.id).length;
          if (!socket.rooms.has(channel) && current >= this.options.maxSubscriptionsPerSocket) {
            throw limitExceeded(`at most ${this.options.maxSubscriptionsPerSocket} subscriptions`);
          }
          void socket.join(channel);
          // Who is there already; later changes come with publishParticipant. Before the ack, so a
          // subscriber knows the names by the time it is subscribed.
          for (const participant of await this.options.participants(subscription.roomId)) {
            if (subscription.peerId === undefined || participant.peerId === subscription.peerId) socket.emit(PARTICIPANT_EVENT, participant);
          }
          // Read after joining: whatever was published before the join is in it (see AffectHistory).
          return subscription.since === undefined ? empty : this.#history(subscription);
        },
        unsubscribe: async (subscription) => {
          void socket.leave(granted(subscription));
          return empty;
        },
      },
      { requestsPerSecond: this.options.requestsPerSecond, requestBurst: this.options.requestBurst, errors: this.metrics.signalingErrors, log },
    );
  }

  /** The history a `subscribe` with `since` asked for; none from a single node, or while Redis is away. */
  async #history(subscription: Subscription): Promise<SubscribeResult> {
    const history = this.options.history;
    if (!history || history.resumeMaxEvents === 0) return {};
    const lines: NonNullable<SubscribeResult['history']> = [];
    let truncated = false;
    try {
      const range = { since: subscription.since, peerId: subscription.peerId, limit: history.resumeMaxEvents };
      for await (const line of history.store.read(subscription.roomId, range)) {
        if (line.type === 'end') truncated = line.truncated;
        else lines.push(line);
      }
    } catch (error) {
      log.warn('history unavailable for a resuming subscriber', { roomId: subscription.roomId, error: (error as Error).message });
      return {};
    }
    return { history: lines, truncated };
  }

  /** Whether the participant a token was handed to, if any, is still in the call. */
  #participantPresent(claims: SubscriberClaims): boolean {
    return claims.participant === undefined || this.options.participantPresent(claims.room, claims.participant);
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
