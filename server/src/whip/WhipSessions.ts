import { randomBytes, randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import type { Placement } from '../cluster/placement.ts';
import { limitExceeded, moved } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Peer } from '../sfu/Peer.ts';
import type { PeerSpec, TransportAppData } from '../sfu/PeerTypes.ts';
import type { Room } from '../sfu/Room.ts';
import type { Rooms } from '../sfu/Rooms.ts';
import { clientDtlsRole, writeAnswer } from './answer.ts';
import type { AnswerSection } from './negotiate.ts';
import type { Offer } from './offer.ts';
import { WhipRefusal } from './refusal.ts';

const log = createLogger('whip');

export interface WhipSessionsOptions {
  /** Sessions open (or being set up) at once on this node. */
  maxSessions: number;
  /** A session whose video producer received nothing for this long is ended (the client went away, or never came). */
  noMediaTimeoutMs: number;
  /** Several nodes: where a room this node does not have should be (the POST is then answered MOVED, a 307 there). */
  place?: (roomId: string) => Promise<Placement>;
}

/** One WHIP publisher: a participant without a socket, whose one send transport carries its offer's media. */
export interface WhipSession {
  id: string;
  room: Room;
  peer: Peer;
  transport: types.WebRtcTransport<TransportAppData>;
  /** The token's `sub`, if any: a new session of the same identity in the room replaces this one. */
  identity: string | undefined;
  /** Changes with each ICE restart (RFC 9725 ETag). */
  etag: string;
  /** The client's ICE credentials: a PATCH with others asks for an ICE restart. */
  clientIce: Offer['ice'];
  /** The mid of the first accepted media section, which an ICE restart's answer names. */
  bundleMid: string | undefined;
}

export interface Publish {
  roomId: string;
  spec: PeerSpec;
  identity: string | undefined;
  offer: Offer;
  sections: AnswerSection[];
}

/**
 * The WHIP sessions of this node. Publishing joins the room as a peer of its own (counted by
 * MAX_PEERS_PER_ROOM, seen by the call pages and subscribers like any participant), connects one
 * WebRtcTransport with the client's DTLS fingerprint and produces each accepted section: its video is
 * tapped and analysed like a call page's camera when the peer is. Whatever fails on the way leaves the room
 * as it was. A session ends on DELETE, when its DTLS or ICE fails, when no media arrives for
 * `noMediaTimeoutMs`, when its room closes, or at shutdown.
 */
export class WhipSessions {
  readonly #sessions = new Map<string, WhipSession>();
  readonly #byIdentity = new Map<string, WhipSession>();
  #pending = 0;
  #accepting = true;

  constructor(
    private readonly rooms: Rooms,
    private readonly metrics: Metrics,
    private readonly options: WhipSessionsOptions,
  ) {
    // Scraped as 0 from the start, not absent until the first session.
    this.#count();
  }

  /** Sessions open, and being set up. */
  get size(): number {
    return this.#sessions.size + this.#pending;
  }

  get limit(): number {
    return this.options.maxSessions;
  }

  get(id: string): WhipSession | undefined {
    return this.#sessions.get(id);
  }

  async publish(request: Publish): Promise<{ session: WhipSession; answer: string }> {
    if (!this.#accepting) throw shuttingDown();
    if (this.size >= this.options.maxSessions) {
      throw new WhipRefusal(429, `the server holds its limit of ${this.options.maxSessions} WHIP sessions`, { 'retry-after': '10' });
    }
    this.#pending += 1;
    try {
      return await this.#publish(request);
    } finally {
      this.#pending -= 1;
    }
  }

  async #publish({ roomId, spec, identity, offer, sections }: Publish): Promise<{ session: WhipSession; answer: string }> {
    const placement = this.rooms.get(roomId) || !this.options.place ? undefined : await this.options.place(roomId);
    if (placement && !placement.here) throw 'url' in placement ? moved(placement.url) : limitExceeded(placement.refused);
    const { room, peer } = await this.rooms.join(roomId, spec);
    let transport: types.WebRtcTransport<TransportAppData>;
    let answer: string;
    try {
      transport = await peer.createTransport('send');
      await peer.connectTransport(transport.id, { role: clientDtlsRole(offer.setup), fingerprints: offer.fingerprints });
      for (const section of sections) if (section.accepted) await peer.produce(transport.id, section.kind, section.rtpParameters);
      answer = writeAnswer(sections, offer.setup, transport, String(randomBytes(6).readUIntBE(0, 6)));
    } catch (error) {
      room.leave(peer.id);
      throw error;
    }
    if (!this.#accepting || peer.closed) {
      room.leave(peer.id);
      throw this.#accepting ? new WhipRefusal(503, 'the room closed while the session was set up; publish again', { 'retry-after': '1' }) : shuttingDown();
    }
    const session: WhipSession = {
      id: randomUUID(),
      room,
      peer,
      transport,
      identity,
      etag: newEtag(),
      clientIce: offer.ice,
      bundleMid: sections.find((s) => s.accepted)?.mid,
    };
    this.#adopt(session);
    return { session, answer };
  }

  /** Ends a session: its peer leaves the room (its producers and transport close, its faces are lost). */
  end(id: string, reason: string): boolean {
    const session = this.#sessions.get(id);
    if (!session) return false;
    log.info('WHIP session ended', { sessionId: id, roomId: session.room.id, peerId: session.peer.id, reason });
    session.room.leave(session.peer.id);
    return true;
  }

  /** ICE restart: new local credentials for the client to reconnect with, and a new ETag. */
  async restartIce(session: WhipSession, clientIce: NonNullable<Offer['ice']>): Promise<types.IceParameters> {
    const iceParameters = await session.transport.restartIce();
    session.clientIce = clientIce;
    session.etag = newEtag();
    return iceParameters;
  }

  /** SIGTERM: no new session; those open go on until close() (or their client ends them). */
  stopAccepting(): void {
    this.#accepting = false;
  }

  closeAll(): void {
    this.stopAccepting();
    for (const id of [...this.#sessions.keys()]) this.end(id, 'server shutdown');
  }

  #adopt(session: WhipSession): void {
    const { id, room, peer, transport } = session;
    this.#sessions.set(id, session);
    this.#count();
    const key = session.identity === undefined ? undefined : JSON.stringify([room.id, session.identity]);
    const previous = key === undefined ? undefined : this.#byIdentity.get(key);
    if (key !== undefined) this.#byIdentity.set(key, session);
    const watchdog = this.#watchMedia(session);
    peer.once('closed', () => {
      clearInterval(watchdog);
      this.#sessions.delete(id);
      if (key !== undefined && this.#byIdentity.get(key) === session) this.#byIdentity.delete(key);
      this.#count();
    });
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed' || state === 'closed') this.end(id, `DTLS ${state}`);
    });
    transport.on('icestatechange', (state) => {
      if (state === 'disconnected' || state === 'closed') this.end(id, `ICE ${state}`);
    });
    log.info('WHIP session started', { sessionId: id, roomId: room.id, peerId: peer.id, identity: session.identity, analysed: peer.analysed });
    // One publisher per identity and room, as for the call page: a client reconnecting without DELETE takes over.
    if (previous) this.end(previous.id, 'replaced by a new session of its identity');
  }

  /** Ends the session once its video has received no byte for a whole `noMediaTimeoutMs`. */
  #watchMedia(session: WhipSession): NodeJS.Timeout {
    let lastBytes = 0;
    const timer = setInterval(() => {
      const video = [...session.peer.producers.values()].find((p) => p.kind === 'video');
      if (!video) return void this.end(session.id, 'video producer gone');
      video.getStats().then(
        (stats) => {
          const bytes = stats.reduce((sum, s) => sum + s.byteCount, 0);
          if (bytes === lastBytes) this.end(session.id, `no media for ${this.options.noMediaTimeoutMs} ms`);
          lastBytes = bytes;
        },
        () => this.end(session.id, 'video producer gone'),
      );
    }, this.options.noMediaTimeoutMs);
    return timer.unref();
  }

  #count(): void {
    this.metrics.ingestSessions.set({ kind: 'whip' }, this.#sessions.size);
  }
}

const shuttingDown = () => new WhipRefusal(503, 'the server is shutting down; publish to another', { 'retry-after': '5' });
const newEtag = () => `"${randomBytes(9).toString('base64url')}"`;
