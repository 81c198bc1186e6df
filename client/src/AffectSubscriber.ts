/**
 * A typed subscriber to the affect event stream, for browsers and Node alike (socket.io-client only).
 *
 *   const subscriber = await AffectSubscriber.connect({ url, token, subscriptions: [{ roomId: 'demo' }] });
 *   subscriber.onEvent((event) => console.log(event.type, event.faceId, event.seq));
 */
import { io, type Socket } from 'socket.io-client';
import { AFFECT_EVENT_VERSION, AffectStreamEventSchema, type AffectStreamEvent } from '../../protocol/affect-event.ts';
import {
  AFFECT_EVENT,
  AFFECT_NAMESPACE,
  PARTICIPANT_EVENT,
  ParticipantUpdateSchema,
  type ParticipantUpdate,
  type Subscription,
} from '../../protocol/affect-subscriber.ts';
import type { Ack } from '../../protocol/signaling.ts';

export interface AffectSubscriberOptions {
  /** The server's base URL, e.g. https://affect.example.com */
  url: string;
  /** A subscriber token (JWT HS256) granting the room, or the room and peer, subscribed to. */
  token: string;
  subscriptions: Subscription[];
  /** Check every event against the schema and drop the ones that fail. Default true. */
  validate?: boolean;
  /** Passed to socket.io-client (e.g. reconnection timings, a custom transport list). */
  socketOptions?: Parameters<typeof io>[1];
}

type Listener = (event: AffectStreamEvent) => void;
type ParticipantListener = (participant: ParticipantUpdate) => void;
/** An event that failed the schema: `version` when its `v` is not this client's (a newer or older server). */
export interface RejectedEvent {
  reason: 'version' | 'schema';
  v: unknown;
  message: string;
}
type RejectListener = (rejected: RejectedEvent) => void;

export class AffectSubscriber {
  readonly #listeners = new Set<Listener>();
  readonly #participantListeners = new Set<ParticipantListener>();
  /** Who is in the subscribed rooms now, by room and peer id; those who left are forgotten. */
  readonly #participants = new Map<string, ParticipantUpdate>();
  readonly #rejectListeners = new Set<RejectListener>();
  #rejected = 0;
  /** The next sequence number expected per stream: a jump is a gap (events lost). */
  readonly #expected = new Map<string, number>();
  #gaps = 0;

  private constructor(
    readonly socket: Socket,
    private readonly options: AffectSubscriberOptions,
  ) {
    socket.on(AFFECT_EVENT, (raw: unknown) => this.#onEvent(raw));
    socket.on(PARTICIPANT_EVENT, (raw: unknown) => this.#onParticipant(raw));
    // After a disconnection too long to recover, the server has forgotten the subscriptions.
    socket.on('connect', () => {
      if (socket.recovered) return;
      // The server sends who is present now on subscribing; who left meanwhile must not stay listed.
      this.#participants.clear();
      void this.#subscribeAll().catch(() => {});
    });
  }

  static async connect(options: AffectSubscriberOptions): Promise<AffectSubscriber> {
    const socket = io(`${options.url}${AFFECT_NAMESPACE}`, {
      transports: ['websocket'],
      ...options.socketOptions,
      auth: { token: options.token },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error) => {
        socket.close();
        reject(error);
      });
    });
    const subscriber = new AffectSubscriber(socket, options);
    await subscriber.#subscribeAll();
    return subscriber;
  }

  /** Calls `listener` for every event; returns the function that stops it. */
  onEvent(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Calls `listener` for every event dropped by validation: a server speaking another protocol version is
   * then visible at once, instead of as silence.
   */
  onRejected(listener: RejectListener): () => void {
    this.#rejectListeners.add(listener);
    return () => this.#rejectListeners.delete(listener);
  }

  /** Events dropped by validation. */
  get rejected(): number {
    return this.#rejected;
  }

  /**
   * Calls `listener` with each participant the subscriptions cover (display name, whether analysed), now
   * and whenever one joins, changes or leaves (`present: false`); returns the function that stops it.
   */
  onParticipant(listener: ParticipantListener): () => void {
    this.#participantListeners.add(listener);
    for (const participant of this.#participants.values()) listener(participant);
    return () => this.#participantListeners.delete(listener);
  }

  /** The participants present now. */
  get participants(): ParticipantUpdate[] {
    return [...this.#participants.values()];
  }

  /** How many times a stream's sequence numbers jumped, i.e. events were lost. */
  get gaps(): number {
    return this.#gaps;
  }

  close(): void {
    this.socket.close();
    this.#listeners.clear();
    this.#participantListeners.clear();
    this.#rejectListeners.clear();
  }

  async #subscribeAll(): Promise<void> {
    for (const subscription of this.options.subscriptions) {
      const ack = (await this.socket.timeout(10_000).emitWithAck('subscribe', subscription)) as Ack<unknown>;
      if (!ack.ok) throw new Error(`subscribe ${JSON.stringify(subscription)}: ${ack.error.code} ${ack.error.message}`);
    }
  }

  #onParticipant(raw: unknown): void {
    const parsed = ParticipantUpdateSchema.safeParse(raw);
    if (!parsed.success) return;
    const participant = parsed.data;
    const key = `${participant.roomId}/${participant.peerId}`;
    if (participant.present) this.#participants.set(key, participant);
    else this.#participants.delete(key);
    for (const listener of this.#participantListeners) listener(participant);
  }

  #onEvent(raw: unknown): void {
    let event: AffectStreamEvent;
    if (this.options.validate === false) {
      event = raw as AffectStreamEvent;
    } else {
      const parsed = AffectStreamEventSchema.safeParse(raw);
      if (!parsed.success) {
        this.#reject(raw, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
        return;
      }
      event = parsed.data;
    }
    const expected = this.#expected.get(event.producerId);
    if (expected !== undefined && event.seq > expected) this.#gaps += 1;
    this.#expected.set(event.producerId, Math.max(expected ?? 0, event.seq + 1));
    for (const listener of this.#listeners) listener(event);
  }

  #reject(raw: unknown, message: string): void {
    this.#rejected += 1;
    const v = typeof raw === 'object' && raw !== null ? (raw as { v?: unknown }).v : undefined;
    const rejected: RejectedEvent = { reason: v === AFFECT_EVENT_VERSION ? 'schema' : 'version', v, message };
    for (const listener of this.#rejectListeners) listener(rejected);
  }
}
