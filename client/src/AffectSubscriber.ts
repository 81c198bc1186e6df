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
  type SubscribeResult,
  type Subscription,
} from '../../protocol/affect-subscriber.ts';
import { HistoryGapSchema } from '../../protocol/affect-history.ts';
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
  /**
   * After a reconnection the server could not recover (its node died and another answered, or the recovery
   * window passed), subscribe again with `since` = the last event's `emitTime`: a server with a durable
   * history (several nodes, REDIS_URL) then sends what was missed, and nothing twice. Default false.
   */
  resume?: boolean;
  /** Called for every event, from before the first subscription: it also gets a `since` subscription's history. */
  onEvent?: (event: AffectStreamEvent) => void;
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
  /** The latest `emitTime` seen: where a resumed subscription starts. */
  #lastEmitTime: number | undefined;
  /** Live events held back while a subscription's history is on its way (it comes first). */
  #held: unknown[] | undefined;

  private constructor(
    readonly socket: Socket,
    private readonly options: AffectSubscriberOptions,
  ) {
    if (options.onEvent) this.#listeners.add(options.onEvent);
    socket.on(AFFECT_EVENT, (raw: unknown) => this.#onEvent(raw));
    socket.on(PARTICIPANT_EVENT, (raw: unknown) => this.#onParticipant(raw));
    // After a disconnection too long to recover, the server has forgotten the subscriptions.
    socket.on('connect', () => {
      if (socket.recovered) return;
      // The server sends who is present now on subscribing; who left meanwhile must not stay listed.
      this.#participants.clear();
      void this.#subscribeAll(this.options.resume ? this.#lastEmitTime : undefined).catch(() => {});
    });
  }

  static async connect(options: AffectSubscriberOptions): Promise<AffectSubscriber> {
    const socket = io(`${options.url}${AFFECT_NAMESPACE}`, {
      transports: ['websocket'],
      ...options.socketOptions,
      auth: { token: options.token },
    });
    await new Promise<void>((resolve, reject) => {
      // Each listener goes once the other fires: a connect_error listener left behind would close the socket
      // at the first failed reconnection attempt later (a server restarting), ending the subscription for good.
      const onConnect = () => {
        socket.off('connect_error', onError);
        resolve();
      };
      const onError = (error: Error) => {
        socket.off('connect', onConnect);
        socket.close();
        reject(error);
      };
      socket.once('connect', onConnect);
      socket.once('connect_error', onError);
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

  async #subscribeAll(resumeFrom?: number): Promise<void> {
    const requests = this.options.subscriptions.map((subscription) =>
      resumeFrom === undefined ? subscription : { ...subscription, since: resumeFrom },
    );
    const withHistory = requests.some((request) => request.since !== undefined);
    if (withHistory) this.#held ??= [];
    // Events delivered from the histories: the same event arriving live as well is dropped.
    const fromHistory = new Set<string>();
    try {
      for (const request of requests) {
        const ack = (await this.socket.timeout(10_000).emitWithAck('subscribe', request)) as Ack<SubscribeResult>;
        if (!ack.ok) throw new Error(`subscribe ${JSON.stringify(request)}: ${ack.error.code} ${ack.error.message}`);
        for (const line of ack.data.history ?? []) this.#onHistoryLine(line, fromHistory);
      }
    } finally {
      if (withHistory) {
        const held = this.#held ?? [];
        this.#held = undefined;
        for (const raw of held) {
          const { producerId, seq } = (raw ?? {}) as { producerId?: unknown; seq?: unknown };
          if (!fromHistory.has(`${String(producerId)}:${String(seq)}`)) this.#onEvent(raw);
        }
      }
    }
  }

  /** A line of a subscription's history: an event not delivered before (a resume overlaps), or a gap. */
  #onHistoryLine(line: unknown, delivered: Set<string>): void {
    const gap = HistoryGapSchema.safeParse(line);
    if (gap.success) {
      this.#gaps += 1;
      this.#expected.set(gap.data.producerId, Math.max(this.#expected.get(gap.data.producerId) ?? 0, gap.data.toSeq));
      return;
    }
    const { producerId, seq } = (line ?? {}) as { producerId?: unknown; seq?: unknown };
    const expected = this.#expected.get(String(producerId));
    if (typeof seq === 'number' && expected !== undefined && seq < expected) return;
    delivered.add(`${String(producerId)}:${String(seq)}`);
    this.#onEvent(line, true);
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

  #onEvent(raw: unknown, fromHistory = false): void {
    if (this.#held && !fromHistory) {
      this.#held.push(raw);
      return;
    }
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
    if (event.type === 'affect') this.#lastEmitTime = Math.max(this.#lastEmitTime ?? 0, event.emitTime);
    for (const listener of this.#listeners) listener(event);
  }

  #reject(raw: unknown, message: string): void {
    this.#rejected += 1;
    const v = typeof raw === 'object' && raw !== null ? (raw as { v?: unknown }).v : undefined;
    const rejected: RejectedEvent = { reason: v === AFFECT_EVENT_VERSION ? 'schema' : 'version', v, message };
    for (const listener of this.#rejectListeners) listener(rejected);
  }
}
