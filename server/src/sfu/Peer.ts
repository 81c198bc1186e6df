import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { forbidden, invalidRequest, limitExceeded, notFound } from '../errors.ts';
import type { Direction, PeerEvents, PeerOptions, PeerSpec, TransportAppData } from './PeerTypes.ts';
import { clientInput } from './refused.ts';

/** At most one transport per direction: a mediasoup-client Device needs no more. */
const MAX_TRANSPORTS = 2;

/** One participant in a room and the mediasoup objects it owns. Closing the peer closes all of them. */
export class Peer extends EventEmitter<PeerEvents> {
  readonly transports = new Map<string, types.WebRtcTransport<TransportAppData>>();
  readonly producers = new Map<string, types.Producer>();
  readonly consumers = new Map<string, types.Consumer>();
  /** Producers a consume request is under way for. */
  readonly #consuming = new Set<string>();
  #closed = false;

  readonly displayName: string;
  /** Whether its token allows analysis at all: without it, the participant can never opt in. */
  readonly analysisGranted: boolean;
  #analysed: boolean;

  constructor(
    readonly id: string,
    spec: PeerSpec,
    private readonly router: types.Router,
    private readonly options: PeerOptions,
  ) {
    super();
    this.displayName = spec.displayName;
    this.analysisGranted = spec.analysisGranted ?? spec.analysed;
    if (spec.analysed && !this.analysisGranted) throw new Error('a peer cannot be analysed without the grant');
    this.#analysed = spec.analysed;
  }

  /** Whether its video is decoded and analysed now: granted, and the participant has not opted out. */
  get analysed(): boolean {
    return this.#analysed;
  }

  /** The participant's consent: opting out stops its analysis at once; opting in needs the grant. */
  setAnalysed(analysed: boolean): void {
    if (analysed && !this.analysisGranted) throw forbidden('this token does not grant analysis of your video');
    if (analysed === this.#analysed || this.#closed) return;
    this.#analysed = analysed;
    this.emit('analysisChanged', analysed);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async createTransport(direction: Direction): Promise<types.WebRtcTransport<TransportAppData>> {
    if (this.transports.size >= MAX_TRANSPORTS || [...this.transports.values()].some((t) => t.appData.direction === direction)) {
      throw limitExceeded(`a peer has at most one ${direction} transport`);
    }
    const { listenIp, announcedAddress } = this.options;
    const transport = await this.router.createWebRtcTransport<TransportAppData>({
      listenInfos: [
        { protocol: 'udp', ip: listenIp, announcedAddress },
        { protocol: 'tcp', ip: listenIp, announcedAddress },
      ],
      preferUdp: true,
      appData: { direction },
    });
    if (this.#closed) {
      transport.close();
      throw invalidRequest('peer left while the transport was being created');
    }
    this.transports.set(transport.id, transport);
    transport.observer.once('close', () => this.transports.delete(transport.id));
    return transport;
  }

  async connectTransport(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    const transport = this.#transport(transportId);
    await clientInput('DTLS parameters', () => transport.connect({ dtlsParameters }));
  }

  async produce(transportId: string, kind: types.MediaKind, rtpParameters: types.RtpParameters): Promise<types.Producer> {
    const transport = this.#transport(transportId, 'send');
    if (this.producers.size >= this.options.maxProducers) {
      throw limitExceeded(`a peer may have at most ${this.options.maxProducers} producers`);
    }
    // mediasoup takes an audio producer with only video codecs, which then is never analysed nor heard.
    const codecs = Array.isArray(rtpParameters.codecs) ? rtpParameters.codecs : [];
    if (!codecs.every((codec) => typeof codec?.mimeType === 'string' && codec.mimeType.toLowerCase().startsWith(`${kind}/`))) {
      throw invalidRequest(`a producer of kind ${kind} takes ${kind} codecs only`);
    }
    const producer = await clientInput('RTP parameters', () => transport.produce({ kind, rtpParameters }));
    this.adoptProducer(producer);
    return producer;
  }

  /**
   * Takes on a producer made server-side on a transport of this peer's room (RTP ingest from a camera
   * or gateway, or a benchmark's replayed stream): it is counted, tapped and closed like the peer's own.
   */
  adoptProducer(producer: types.Producer): void {
    if (this.producers.size >= this.options.maxProducers) {
      producer.close();
      throw limitExceeded(`a peer may have at most ${this.options.maxProducers} producers`);
    }
    this.producers.set(producer.id, producer);
    producer.observer.once('close', () => this.producers.delete(producer.id));
    this.emit('producerAdded', producer);
  }

  producer(producerId: string): types.Producer {
    const producer = this.producers.get(producerId);
    if (!producer) throw notFound('producer', producerId);
    return producer;
  }

  async consume(transportId: string, producer: types.Producer, rtpCapabilities: types.RtpCapabilities): Promise<types.Consumer> {
    const transport = this.#transport(transportId, 'recv');
    if (!this.router.canConsume({ producerId: producer.id, rtpCapabilities })) {
      throw invalidRequest(`these RTP capabilities cannot consume producer ${producer.id}`);
    }
    // One consumer per producer: the number of consumers is then bounded by the room's producers.
    if (this.#consuming.has(producer.id) || [...this.consumers.values()].some((c) => c.producerId === producer.id)) {
      throw invalidRequest(`producer ${producer.id} is already consumed`);
    }
    this.#consuming.add(producer.id);
    let consumer: types.Consumer;
    try {
      // Paused until the client has set up its side and asks to resume: no lost first keyframe.
      consumer = await clientInput('RTP capabilities', () =>
        transport.consume({ producerId: producer.id, rtpCapabilities, paused: true }),
      );
    } finally {
      this.#consuming.delete(producer.id);
    }
    this.consumers.set(consumer.id, consumer);
    const forget = () => {
      if (this.consumers.delete(consumer.id)) this.emit('consumerClosed', consumer.id);
    };
    consumer.on('transportclose', forget);
    consumer.on('producerclose', forget);
    consumer.observer.once('close', forget);
    consumer.on('producerpause', () => this.emit('consumerPaused', consumer.id));
    consumer.on('producerresume', () => this.emit('consumerResumed', consumer.id));
    return consumer;
  }

  consumer(consumerId: string): types.Consumer {
    const consumer = this.consumers.get(consumerId);
    if (!consumer) throw notFound('consumer', consumerId);
    return consumer;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Closing the transports closes their producers and consumers; adopted producers close themselves.
    for (const transport of this.transports.values()) transport.close();
    for (const producer of this.producers.values()) producer.close();
    this.emit('closed');
    this.removeAllListeners();
  }

  #transport(transportId: string, direction?: Direction): types.WebRtcTransport<TransportAppData> {
    const transport = this.transports.get(transportId);
    if (!transport) throw notFound('transport', transportId);
    if (direction && transport.appData.direction !== direction) {
      throw invalidRequest(`transport ${transportId} is a ${transport.appData.direction} transport`);
    }
    return transport;
  }
}
