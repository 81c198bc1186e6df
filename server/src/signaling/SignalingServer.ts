import type { types } from 'mediasoup';
import type { Server, Socket } from 'socket.io';
import {
  requestSchemas,
  type ConsumerInfo,
  type PeerInfo,
  type RequestPayload,
  type ResponseData,
  type ServerEvents,
  type ServerEventName,
} from '../../../protocol/signaling.ts';
import { accessOfSocket, admit, requireGrant, type CallAccess } from '../auth/callAccess.ts';
import { guardRecovery } from '../auth/recovery.ts';
import type { Placement } from '../cluster/placement.ts';
import { RequestError, invalidRequest, limitExceeded, moved } from '../errors.ts';
import { callChannel } from './channels.ts';
import { createLogger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Peer } from '../sfu/Peer.ts';
import type { Room } from '../sfu/Room.ts';
import type { Rooms } from '../sfu/Rooms.ts';
import type { AddressQuota } from './AddressQuota.ts';
import { serveRequests } from './serveRequests.ts';

const log = createLogger('signaling');

export interface SignalingOptions {
  maxDisplayNameLength: number;
  /** ANALYSIS_DEFAULT: participants granted analysis start analysed. */
  analysedByDefault: boolean;
  /** Requests per second a socket may make on average, and in a burst. */
  requestsPerSecond: number;
  requestBurst: number;
  /** Mints a token for the affect stream of a peer's room, valid while that peer stays in it. */
  subscriberToken: (roomId: string, peerId: string) => Promise<{ token: string; ttlSeconds: number }>;
  /** The distinct rooms each client address has peers in. */
  roomsPerAddress: AddressQuota;
  addressOf: (socket: Socket) => string;
  /** Several nodes: where a room this node does not have should be (the join is then answered MOVED). */
  place?: (roomId: string) => Promise<Placement>;
}

interface Session {
  socket: Socket;
  access: CallAccess;
  address: string;
  /** A join is under way: a second one waits for nothing and is refused. */
  joining: boolean;
  /** When this socket last turned its analysis on (ms since the epoch). */
  lastOptIn: number;
  room?: Room;
  peer?: Peer;
  /** Undoes the room/peer listeners this session added. */
  unsubscribe?: () => void;
}

type Joined = Session & { room: Room; peer: Peer };
type CallHandlers = { [N in keyof typeof requestSchemas]: (payload: RequestPayload<N>) => Promise<ResponseData[N]> };

const empty = {} as Record<string, never>;
/**
 * Opting in starts a tap (a transport, a consumer, then an ffmpeg): a client toggling its consent could
 * otherwise churn through those within the request rate limit. Opting out is never refused.
 */
const OPT_IN_INTERVAL_MS = 1000;

/**
 * The call's request/ack protocol on socket.io, behind the call authorisation middleware. Every request
 * goes through serveRequests; what the socket's token does not grant is refused with FORBIDDEN.
 */
export function attachSignaling(io: Server, rooms: Rooms, metrics: Metrics, options: SignalingOptions): void {
  const handlersFor = (session: Session): CallHandlers => ({
    join: async ({ roomId, displayName }) => {
      if (session.peer) throw new RequestError('ALREADY_JOINED', `already in room ${session.room?.id}`);
      if (session.joining) throw new RequestError('ALREADY_JOINED', 'a join is already under way');
      const spec = admit(session.access, roomId, displayName, options.maxDisplayNameLength, options.analysedByDefault);
      const { roomsPerAddress } = options;
      if (!roomsPerAddress.take(session.address, roomId)) {
        throw limitExceeded(`this address has peers in ${roomsPerAddress.limit} rooms already`);
      }
      session.joining = true;
      let joinedRoom: { room: Room; peer: Peer };
      try {
        const placement = rooms.get(roomId) || !options.place ? undefined : await options.place(roomId);
        if (placement && !placement.here) throw 'url' in placement ? moved(placement.url) : limitExceeded(placement.refused);
        joinedRoom = await rooms.join(roomId, spec);
      } catch (error) {
        roomsPerAddress.give(session.address, roomId);
        throw error;
      } finally {
        session.joining = false;
      }
      const { room, peer } = joinedRoom;
      // However the peer ends (leave, disconnect, room closed), its room no longer counts against the address.
      peer.once('closed', () => roomsPerAddress.give(session.address, roomId));
      session.room = room;
      session.peer = peer;
      session.unsubscribe = subscribe(session as Joined);
      // The room's affect events reach the participants granted them on this socket.
      if (session.access.grants.subscribeAffect) void session.socket.join(callChannel(roomId));
      if (session.socket.disconnected) {
        leave(session);
        throw invalidRequest('disconnected while joining');
      }
      // Only a join that stands replaces the identity's earlier peer (whose leaving the others then see).
      const identity = session.access.identity;
      if (identity !== undefined) {
        const key = JSON.stringify([roomId, identity]);
        const previous = byIdentity.get(key);
        byIdentity.set(key, session);
        peer.once('closed', () => byIdentity.get(key) === session && byIdentity.delete(key));
        if (previous && previous !== session) replace(previous);
      }
      const others = [...room.peers.values()].filter((other) => other !== peer).map(peerInfo);
      log.debug('peer joined', { roomId, peerId: peer.id, identity: session.access.identity });
      return {
        peerId: peer.id,
        roomId,
        displayName: peer.displayName,
        analysed: peer.analysed,
        routerRtpCapabilities: room.router.rtpCapabilities,
        peers: others,
        grants: session.access.grants,
      };
    },
    createTransport: async ({ direction }) => {
      if (direction === 'send') requireGrant(session.access, 'publish', 'sending media');
      const transport = await joined(session).peer.createTransport(direction);
      return {
        id: transport.id,
        iceParameters: transport.iceParameters,
        iceCandidates: transport.iceCandidates,
        dtlsParameters: transport.dtlsParameters,
      };
    },
    connectTransport: async ({ transportId, dtlsParameters }) => {
      await joined(session).peer.connectTransport(transportId, dtlsParameters as unknown as types.DtlsParameters);
      return empty;
    },
    produce: async ({ transportId, kind, rtpParameters }) => {
      requireGrant(session.access, 'publish', 'sending media');
      const producer = await joined(session).peer.produce(transportId, kind, rtpParameters as unknown as types.RtpParameters);
      return { producerId: producer.id };
    },
    closeProducer: async ({ producerId }) => {
      joined(session).peer.producer(producerId).close();
      return empty;
    },
    pauseProducer: async ({ producerId }) => {
      await joined(session).peer.producer(producerId).pause();
      return empty;
    },
    resumeProducer: async ({ producerId }) => {
      await joined(session).peer.producer(producerId).resume();
      return empty;
    },
    consume: async ({ transportId, producerId, rtpCapabilities }) => {
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
    pauseConsumer: async ({ consumerId }) => {
      await joined(session).peer.consumer(consumerId).pause();
      return empty;
    },
    resumeConsumer: async ({ consumerId }) => {
      await joined(session).peer.consumer(consumerId).resume();
      return empty;
    },
    leave: async () => {
      joined(session);
      leave(session);
      return empty;
    },
    affectToken: async () => {
      requireGrant(session.access, 'subscribeAffect', 'the affect stream');
      const { room, peer } = joined(session);
      return options.subscriberToken(room.id, peer.id);
    },
    setAnalysis: async ({ analysed }) => {
      const { peer } = joined(session);
      if (analysed && !peer.analysed) {
        if (Date.now() - session.lastOptIn < OPT_IN_INTERVAL_MS) {
          throw new RequestError('RATE_LIMITED', `analysis can be turned on at most once every ${OPT_IN_INTERVAL_MS / 1000} s`);
        }
        session.lastOptIn = Date.now();
      }
      // Synchronous: by the ack, an opted-out peer's taps are closed (FrameTaps listens) and the room told.
      peer.setAnalysed(analysed);
      return { analysed: peer.analysed };
    },
  });

  // A call socket's peer leaves when the socket disconnects: a returning socket starts afresh, and is
  // replayed nothing that happened in the room after it left.
  guardRecovery(io.of('/'), () => false);
  // One peer per token identity and room, as LiveKit does: a second join (a reload in another tab, a phone
  // taking over) replaces the first, which is told so, rather than leaving a ghost in the call.
  const byIdentity = new Map<string, Session>();
  io.on('connection', (socket) => {
    const session: Session = { socket, access: accessOfSocket(socket), address: options.addressOf(socket), joining: false, lastOptIn: 0 };
    serveRequests(socket, requestSchemas, handlersFor(session), {
      requestsPerSecond: options.requestsPerSecond,
      requestBurst: options.requestBurst,
      errors: metrics.signalingErrors,
      log,
    });
    socket.on('disconnect', () => leave(session));
  });
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
    analysed: peer.analysed,
    producers: [...peer.producers.values()].map((p) => ({ producerId: p.id, kind: p.kind, paused: p.paused })),
  };
}

/** Ends a session's call because its identity joined again elsewhere; its socket stays, for the page to explain. */
function replace(session: Session): void {
  if (!session.room) return;
  log.debug('peer replaced by a new join of its identity', { roomId: session.room.id, identity: session.access.identity });
  session.socket.emit('roomClosed', { reason: 'replaced' });
  leave(session);
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
    log.debug('peer left', { roomId: room.id, peerId: peer.id });
  }
}

/** Forwards what happens in the room, and to the peer's own consumers, to the peer's socket. */
function subscribe(session: Joined): () => void {
  const { socket, room, peer } = session;
  const state: Session = session;
  const send = <E extends ServerEventName>(event: E, data: ServerEvents[E]) => socket.emit(event, data);
  const onPeerJoined = (other: Peer) =>
    other !== peer && send('peerJoined', { peerId: other.id, displayName: other.displayName, analysed: other.analysed });
  const onAnalysisChanged = (other: Peer) => send('analysisChanged', { peerId: other.id, analysed: other.analysed });
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
  room.on('analysisChanged', onAnalysisChanged);
  room.on('closed', onClosed);
  peer.on('consumerClosed', onConsumerClosed);
  peer.on('consumerPaused', onConsumerPaused);
  peer.on('consumerResumed', onConsumerResumed);
  return () => {
    room.off('peerJoined', onPeerJoined);
    room.off('peerLeft', onPeerLeft);
    room.off('producerAdded', onProducer);
    room.off('analysisChanged', onAnalysisChanged);
    room.off('closed', onClosed);
    peer.off('consumerClosed', onConsumerClosed);
    peer.off('consumerPaused', onConsumerPaused);
    peer.off('consumerResumed', onConsumerResumed);
  };
}
