import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { AffectStreamEventSchema, type AffectStreamEvent } from '../../protocol/affect-event.ts';
import { AFFECT_EVENT } from '../../protocol/affect-subscriber.ts';
import type { PeerInfo } from '../../protocol/signaling.ts';
import { SignalingClient, SignalingError } from './signalingClient.ts';

/** MOVED answers (or unreachable nodes) a join goes through before it gives up. */
const MAX_MOVES = 8;
const UNREACHABLE_RETRY_MS = 1000;
/**
 * The camera goes out as two simulcast layers: the full picture for the other participants, and a half-size one
 * at up to 15 fps that the server analyses (it picks the smallest layer at least half the full size): decoding
 * that costs the server about a quarter of the full layer per frame, at fewer frames. The SFU also falls back to
 * the small layer for a participant whose bandwidth drops.
 */
const VIDEO_LAYERS: types.RtpEncodingParameters[] = [
  { scaleResolutionDownBy: 2, maxFramerate: 15, maxBitrate: 250_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
];

export interface CallView {
  addPeer(peerId: string, displayName: string, analysed: boolean): void;
  /** Whether a participant's video (this peer's own included) is being analysed, as the server says. */
  setAnalysed(peerId: string, analysed: boolean): void;
  removePeer(peerId: string): void;
  setPeerTrack(peerId: string, track: MediaStreamTrack): void;
  removePeerTrack(peerId: string, track: MediaStreamTrack): void;
  setStatus(text: string): void;
  /** An affect event of the room: `peerId` says whose video (this peer's own included) it is about. */
  affect(event: AffectStreamEvent): void;
  /** The room went away under us (e.g. a server worker died). */
  ended(reason: string): void;
}

/** One membership of a room: sends the local camera/microphone, receives every other participant. */
export class CallSession {
  #signaling: SignalingClient;
  readonly #token: string | undefined;
  readonly #device = new Device();
  #sendTransport?: types.Transport;
  /** Consumers wait on it: producers announced while it is being set up are not lost. */
  #recvTransport?: Promise<types.Transport>;
  readonly #consumers = new Map<string, { consumer: types.Consumer; peerId: string }>();
  readonly #producers = new Map<'audio' | 'video', types.Producer>();
  #peerId = '';
  #displayName = '';
  #analysed = false;
  #analysisGranted = false;
  #closed = false;

  private constructor(
    private readonly view: CallView,
    token: string | undefined,
  ) {
    this.#signaling = new SignalingClient(token);
    this.#token = token;
  }

  /**
   * `token`: the participant token the page was opened with, where the server requires one; it then
   * fixes the room and the name, and says whether this participant may send.
   */
  static async join(roomId: string, displayName: string, media: MediaStream, view: CallView, token?: string): Promise<CallSession> {
    const session = new CallSession(view, token);
    try {
      await session.#join(roomId, displayName, media);
    } catch (error) {
      session.leave();
      throw error;
    }
    return session;
  }

  get peerId(): string {
    return this.#peerId;
  }

  /** The name the others see. */
  get displayName(): string {
    return this.#displayName;
  }

  /** Whether this participant's video is being analysed now. */
  get analysed(): boolean {
    return this.#analysed;
  }

  /** Whether its token lets it be analysed at all (without, it can never opt in). */
  get analysisGranted(): boolean {
    return this.#analysisGranted;
  }

  /** Consent: asks the server to analyse this participant's video or to stop; resolves with the new state. */
  async setAnalysis(analysed: boolean): Promise<boolean> {
    ({ analysed: this.#analysed } = await this.#signaling.request('setAnalysis', { analysed }));
    return this.#analysed;
  }

  /** Stops (or restarts) sending a kind of track: the server pauses it for everyone, analysis included. */
  async setPaused(kind: 'audio' | 'video', paused: boolean): Promise<void> {
    const producer = this.#producers.get(kind);
    if (!producer || producer.paused === paused) return;
    if (paused) producer.pause();
    else producer.resume();
    await this.#signaling.request(paused ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id });
  }

  /** Sends `track` (e.g. another camera) in place of the current one of its kind, without renegotiating. */
  async replaceTrack(track: MediaStreamTrack): Promise<void> {
    await this.#producers.get(track.kind as 'audio' | 'video')?.replaceTrack({ track });
  }

  /** A subscriber token for this room's affect stream (for the dashboard). */
  affectToken(): Promise<{ token: string; ttlSeconds: number }> {
    return this.#signaling.request('affectToken', {});
  }

  leave(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#signaling.socket.connected) this.#signaling.request('leave', {}).catch(() => {});
    this.#sendTransport?.close();
    this.#recvTransport?.then((transport) => transport.close()).catch(() => {});
    // Give the leave request a moment to go out before the socket closes (the server cleans up either way).
    setTimeout(() => this.#signaling.close(), 200);
  }

  /**
   * Joins on this server, or, where the room lives on another node of a cluster (MOVED), on that one, with
   * the same token. A node named but unreachable has probably just died (its rooms are free within 3 of its
   * heartbeats): the page's own server is asked again a moment later, which then places the room afresh.
   */
  async #joinWhereTheRoomIs(roomId: string, displayName: string) {
    for (let hop = 0; ; hop += 1) {
      try {
        return await this.#signaling.request('join', { roomId, displayName });
      } catch (error) {
        if (!(error instanceof SignalingError) || error.code !== 'MOVED' || !error.location || hop >= MAX_MOVES) throw error;
        this.#signaling.close();
        this.#signaling = new SignalingClient(this.#token, error.location);
        try {
          await this.#signaling.connected();
        } catch {
          this.#signaling.close();
          await new Promise((resolve) => setTimeout(resolve, UNREACHABLE_RETRY_MS));
          this.#signaling = new SignalingClient(this.#token);
          await this.#signaling.connected();
        }
      }
    }
  }

  async #join(roomId: string, displayName: string, media: MediaStream): Promise<void> {
    this.view.setStatus('Joining…');
    await this.#signaling.connected();
    const joined = await this.#joinWhereTheRoomIs(roomId, displayName);
    const s = this.#signaling;
    this.#peerId = joined.peerId;
    this.#displayName = joined.displayName;
    this.#analysed = joined.analysed;
    this.#analysisGranted = joined.grants.analysed;
    this.#recvTransport = this.#device
      .load({ routerRtpCapabilities: joined.routerRtpCapabilities as types.RtpCapabilities })
      .then(() => this.#createTransport('recv'));

    s.on('peerJoined', ({ peerId, displayName: name, analysed }) => this.view.addPeer(peerId, name, analysed));
    s.on('analysisChanged', ({ peerId, analysed }) => {
      if (peerId === this.#peerId) this.#analysed = analysed;
      this.view.setAnalysed(peerId, analysed);
    });
    s.on('peerLeft', ({ peerId }) => this.view.removePeer(peerId));
    s.on('newProducer', ({ peerId, producerId }) => void this.#consume(peerId, producerId));
    s.on('consumerClosed', ({ consumerId }) => this.#forgetConsumer(consumerId));
    s.socket.on(AFFECT_EVENT, (raw: unknown) => {
      const parsed = AffectStreamEventSchema.safeParse(raw);
      if (parsed.success) this.view.affect(parsed.data);
    });
    s.on('roomClosed', ({ reason }) => {
      this.leave();
      this.view.ended(reason);
    });
    // The server holding the call went away (it died, or the network dropped): it has let this peer go (a call
    // socket is never recovered), so the call ends here and the page rejoins, which, with several nodes,
    // creates the room again on a live one.
    s.socket.on('disconnect', (reason) => {
      if (this.#closed || reason === 'io client disconnect') return;
      this.leave();
      this.view.ended('connection-lost');
    });

    await this.#recvTransport;
    if (joined.grants.publish) await this.#send(media);
    for (const peer of joined.peers) this.#addExisting(peer);
    this.view.setStatus(`In room ${roomId}`);
  }

  async #send(media: MediaStream): Promise<void> {
    const s = this.#signaling;
    this.#sendTransport = await this.#createTransport('send');
    this.#sendTransport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
      s.request('produce', { transportId: this.#sendTransport!.id, kind, rtpParameters: rtpParameters as never }).then(
        ({ producerId }) => callback({ id: producerId }),
        errback,
      );
    });
    for (const track of media.getTracks()) {
      const producer = await this.#sendTransport.produce(
        track.kind === 'video' ? { track, encodings: VIDEO_LAYERS } : { track },
      );
      this.#producers.set(producer.kind as 'audio' | 'video', producer);
    }
  }

  #addExisting(peer: PeerInfo): void {
    this.view.addPeer(peer.peerId, peer.displayName, peer.analysed);
    for (const producer of peer.producers) void this.#consume(peer.peerId, producer.producerId);
  }

  async #createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const info = await this.#signaling.request('createTransport', { direction });
    const options = info as unknown as types.TransportOptions;
    const transport =
      direction === 'send' ? this.#device.createSendTransport(options) : this.#device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#signaling
        .request('connectTransport', { transportId: transport.id, dtlsParameters: dtlsParameters as never })
        .then(() => callback(), errback);
    });
    return transport;
  }

  async #consume(peerId: string, producerId: string): Promise<void> {
    try {
      const transport = await this.#recvTransport!;
      if (this.#closed) return;
      const info = await this.#signaling.request('consume', {
        transportId: transport.id,
        producerId,
        rtpCapabilities: this.#device.recvRtpCapabilities as never,
      });
      const consumer = await transport.consume({
        id: info.consumerId,
        producerId,
        kind: info.kind,
        rtpParameters: info.rtpParameters as types.RtpParameters,
      });
      this.#consumers.set(consumer.id, { consumer, peerId });
      this.view.setPeerTrack(peerId, consumer.track);
      await this.#signaling.request('resumeConsumer', { consumerId: consumer.id });
    } catch (error) {
      console.warn(`could not receive ${producerId} of ${peerId}`, error);
    }
  }

  #forgetConsumer(consumerId: string): void {
    const entry = this.#consumers.get(consumerId);
    if (!entry) return;
    this.#consumers.delete(consumerId);
    entry.consumer.close();
    this.view.removePeerTrack(entry.peerId, entry.consumer.track);
  }
}
