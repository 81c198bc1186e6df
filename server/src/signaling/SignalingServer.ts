import type { types } from 'mediasoup';
import type { Server, Socket } from 'socket.io';
import {
  MAX_REQUEST_BYTES,
  requestSchemas,
  type Ack,
  type ConsumerInfo,
  type PeerInfo,
  type RequestName,
  type RequestPayload,
  type ResponseData,
  type ServerEvents,
  type ServerEventName,
} from '../../../protocol/signaling.ts';
import { RequestError, invalidRequest } from '../errors.ts';
import { callChannel } from '../events/channels.ts';
import { createLogger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Peer } from '../sfu/Peer.ts';
import type { Room } from '../sfu/Room.ts';
import type { Rooms } from '../sfu/Rooms.ts';
import { TokenBucket } from './rateLimit.ts';

const log = createLogger('signaling');

export interface SignalingOptions {
  maxDisplayNameLength: number;
  /** Requests per second a socket may make on average, and in a burst. */
  requestsPerSecond: number;
  requestBurst: number;
  /** Mints a token for the affect stream of a room, for a peer in it. */
  subscriberToken: (roomId: string) => { token: string; ttlSeconds: number };
}

interface Session {
  socket: Socket;
  room?: Room;
  peer?: Peer;
  /** Undoes the room/peer listeners this session added. */
  unsubscribe?: () => void;
}

type Handler<N extends RequestName> = (session: Session, payload: RequestPayload<N>) => Promise<ResponseData[N]>;
type Joined = Session & { room: Room; peer: Peer };

const empty = {} as Record<string, never>;

/**
 * The call's request/ack protocol on socket.io. Every payload is size-checked, rate-limited and
 * schema-validated before it reaches the SFU; client mistakes come back as error acks and never throw.
 */
export function attachSignaling(io: Server, rooms: Rooms, metrics: Metrics, options: SignalingOptions): void {
  const handlers: { [N in RequestName]: Handler<N> } = {
    join: async (session, { roomId, displayName }) => {
      if (session.peer) throw new RequestError('ALREADY_JOINED', `already in room ${session.room?.id}`);
      if (displayName.length > options.maxDisplayNameLength) {
        throw invalidRequest(`displayName is longer than ${options.maxDisplayNameLength} characters`);
      }
      let room = await rooms.getOrCreate(roomId);
      // The room may have emptied and closed while this join waited for it.
      if (room.closed) room = await rooms.getOrCreate(roomId);
      if (session.peer) throw new RequestError('ALREADY_JOINED', `already in room ${session.room?.id}`);
      const others = [...room.peers.values()].map(peerInfo);
      const peer = room.join(displayName);
      session.room = room;
      session.peer = peer;
      session.unsubscribe = subscribe(session as Joined);
      // The room's affect events reach its participants on this socket.
      void session.socket.join(callChannel(roomId));
      if (session.socket.disconnected) {
        leave(session);
        throw invalidRequest('disconnected while joining');
      }
      log.info('peer joined', { roomId, peerId: peer.id });
      return { peerId: peer.id, roomId, routerRtpCapabilities: room.router.rtpCapabilities, peers: others };
    },
    createTransport: async (session, { direction }) => {
      const transport = await joined(session).peer.createTransport(direction);
      return {
        id: transport.id,
        iceParameters: transport.iceParameters,
        iceCandidates: transport.iceCandidates,
        dtlsParameters: transport.dtlsParameters,
      };
    },
    connectTransport: async (session, { transportId, dtlsParameters }) => {
      await joined(session).peer.connectTransport(transportId, dtlsParameters as unknown as types.DtlsParameters);
      return empty;
    },
    produce: async (session, { transportId, kind, rtpParameters }) => {
      const producer = await joined(session).peer.produce(
        transportId,
        kind,
        rtpParameters as unknown as types.RtpParameters,
      );
      return { producerId: producer.id };
    },
    closeProducer: async (session, { producerId }) => {
      joined(session).peer.producer(producerId).close();
      return empty;
    },
    pauseProducer: async (session, { producerId }) => {
      await joined(session).peer.producer(producerId).pause();
      return empty;
    },
    resumeProducer: async (session, { producerId }) => {
      await joined(session).peer.producer(producerId).resume();
      return empty;
    },
    consume: async (session, { transportId, producerId, rtpCapabilities }) => {
      const { room, peer } = joined(session);
      const source = room.findProducer(producerId);
      if (source.peer === peer) throw invalidRequest('a peer does not consume its own producer');
      const consumer = await peer.consume(transportId, source.producer, rtpCapabilities as types.RtpCapabilities);
      const info: ConsumerInfo = {
        consumerId: consumer.id,
        producerId,
        peerId: source.peer.id,
        kind: consumer.kind,
        rtpParameters: consumer.rtpParameters,
        producerPaused: consumer.producerPaused,
      };
      return info;
    },
    pauseConsumer: async (session, { consumerId }) => {
      await joined(session).peer.consumer(consumerId).pause();
      return empty;
    },
    resumeConsumer: async (session, { consumerId }) => {
      await joined(session).peer.consumer(consumerId).resume();
      return empty;
    },
    leave: async (session) => {
      joined(session);
      leave(session);
      return empty;
    },
    affectToken: async (session) => options.subscriberToken(joined(session).room.id),
  };

  const fail = (ack: (a: Ack<never>) => void, error: RequestError) => {
    metrics.signalingErrors.inc({ code: error.code });
    ack({ ok: false, error: { code: error.code, message: error.message } });
  };

  io.on('connection', (socket) => {
    const session: Session = { socket };
    // A recovered socket gets its rooms back, but its peer left when it disconnected: no room events for it.
    if (socket.recovered) for (const room of socket.rooms) if (room !== socket.id) void socket.leave(room);
    const bucket = new TokenBucket(options.requestBurst, options.requestsPerSecond, Date.now());

    socket.onAny((event: unknown, ...args: unknown[]) => {
      const ack = args.at(-1);
      if (typeof ack !== 'function') {
        log.debug('request without ack ignored', { event: String(event).slice(0, 64) });
        return;
      }
      const reply = ack as (a: Ack<unknown>) => void;
      if (!bucket.take(Date.now())) {
        fail(reply, new RequestError('RATE_LIMITED', 'too many requests; slow down'));
        return;
      }
      if (typeof event !== 'string' || !Object.hasOwn(requestSchemas, event)) {
        fail(reply, new RequestError('UNKNOWN_REQUEST', `unknown request ${JSON.stringify(String(event).slice(0, 64))}`));
        return;
      }
      const name = event as RequestName;
      const payload = args.length > 1 ? args[0] : undefined;
      const size = jsonSize(payload);
      if (size > MAX_REQUEST_BYTES) {
        fail(reply, new RequestError('TOO_LARGE', `${name} payload is ${size} bytes; the limit is ${MAX_REQUEST_BYTES}`));
        return;
      }
      const parsed = requestSchemas[name].safeParse(payload);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
        fail(reply, invalidRequest(`invalid ${name} request: ${problems}`));
        return;
      }
      (handlers[name] as Handler<RequestName>)(session, parsed.data).then(
        (data) => reply({ ok: true, data }),
        (error: unknown) => {
          if (error instanceof RequestError) return fail(reply, error);
          // mediasoup refuses bad RTP/DTLS parameters with TypeError: the client's fault, not ours.
          if (error instanceof TypeError) return fail(reply, invalidRequest(`${name}: ${error.message}`));
          log.error('request failed', { request: name, error });
          metrics.signalingErrors.inc({ code: 'INTERNAL' });
          reply({ ok: false, error: { code: 'INTERNAL', message: `${name} failed on the server` } });
        },
      );
    });

    socket.on('disconnect', () => leave(session));
  });
}

function jsonSize(payload: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(payload) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function joined(session: Session): Joined {
  if (!session.peer || !session.room || session.peer.closed) {
    throw new RequestError('NOT_JOINED', 'join a room first');
  }
  return session as Joined;
}

function peerInfo(peer: Peer): PeerInfo {
  return {
    peerId: peer.id,
    displayName: peer.displayName,
    producers: [...peer.producers.values()].map((p) => ({ producerId: p.id, kind: p.kind, paused: p.paused })),
  };
}

function leave(session: Session): void {
  const { room, peer } = session;
  session.unsubscribe?.();
  session.room = undefined;
  session.peer = undefined;
  session.unsubscribe = undefined;
  if (room) void session.socket.leave(callChannel(room.id));
  if (room && peer) {
    room.leave(peer.id);
    log.info('peer left', { roomId: room.id, peerId: peer.id });
  }
}

/** Forwards what happens in the room, and to the peer's own consumers, to the peer's socket. */
function subscribe(session: Joined): () => void {
  const { socket, room, peer } = session;
  const state: Session = session;
  const send = <E extends ServerEventName>(event: E, data: ServerEvents[E]) => socket.emit(event, data);
  const onPeerJoined = (other: Peer) => other !== peer && send('peerJoined', { peerId: other.id, displayName: other.displayName });
  const onPeerLeft = (other: Peer) => other !== peer && send('peerLeft', { peerId: other.id });
  const onProducer = (other: Peer, producer: types.Producer) =>
    other !== peer && send('newProducer', { peerId: other.id, producerId: producer.id, kind: producer.kind });
  const onClosed = (reason: string) => {
    if (reason === 'worker-died' || reason === 'server-shutdown') {
      send('roomClosed', { reason });
      void socket.leave(callChannel(room.id));
      state.room = undefined;
      state.peer = undefined;
      state.unsubscribe = undefined;
    }
  };
  const onConsumerClosed = (consumerId: string) => send('consumerClosed', { consumerId });
  const onConsumerPaused = (consumerId: string) => send('consumerPaused', { consumerId });
  const onConsumerResumed = (consumerId: string) => send('consumerResumed', { consumerId });

  room.setMaxListeners(0);
  room.on('peerJoined', onPeerJoined);
  room.on('peerLeft', onPeerLeft);
  room.on('producerAdded', onProducer);
  room.on('closed', onClosed);
  peer.on('consumerClosed', onConsumerClosed);
  peer.on('consumerPaused', onConsumerPaused);
  peer.on('consumerResumed', onConsumerResumed);
  return () => {
    room.off('peerJoined', onPeerJoined);
    room.off('peerLeft', onPeerLeft);
    room.off('producerAdded', onProducer);
    room.off('closed', onClosed);
    peer.off('consumerClosed', onConsumerClosed);
    peer.off('consumerPaused', onConsumerPaused);
    peer.off('consumerResumed', onConsumerResumed);
  };
}
