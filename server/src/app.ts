import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMPTY, merge, type Observable } from 'rxjs';
import { Server as SocketIoServer } from 'socket.io';
import { MAX_REQUEST_BYTES } from '../../protocol/signaling.ts';
import type { ParticipantUpdate } from '../../protocol/affect-subscriber.ts';
import type { ParticipantClaims, SubscriberClaims } from '../../protocol/tokens.ts';
import { startAffectService } from './affectService.ts';
import { startCluster } from './cluster/cluster.ts';
import { historyRoute } from './cluster/historyRoute.ts';
import { startWebhooks } from './webhooks/webhooks.ts';
import { callAuthMiddleware } from './auth/callAccess.ts';
import { signParticipantToken, signSubscriberToken, tokenKey, type Unsigned } from './auth/tokens.ts';
import { ConfigError, type Config } from './config.ts';
import { AffectHub } from './events/AffectHub.ts';
import { healthOf } from './health.ts';
import { clientAddress } from './http/clientAddress.ts';
import { createHttpServer } from './http/httpServer.ts';
import { requestOriginAllowed } from './http/origin.ts';
import { createLogger, setLogLevel } from './log.ts';
import { FramePool } from './media/FramePool.ts';
import { FrameTaps, type FrameStream } from './media/FrameTaps.ts';
import { LaggingDecoders } from './media/staleRun.ts';
import { Sources } from './ingest/Sources.ts';
import { sourcesRoute } from './ingest/sourcesRoute.ts';
import { createMetrics, type Metrics, type SfuCounts } from './metrics.ts';
import { AddressQuota } from './signaling/AddressQuota.ts';
import { limitConnectionsPerAddress } from './signaling/connectionQuota.ts';
import { attachSignaling } from './signaling/SignalingServer.ts';
import { textOnlyParser } from './signaling/textOnlyParser.ts';
import type { Peer } from './sfu/Peer.ts';
import { Rooms } from './sfu/Rooms.ts';
import { WorkerPool } from './sfu/WorkerPool.ts';
import { createFaceDetector, createSessionFactory, loadAffectModel, type AffectModel, type FaceDetector } from './vision/index.ts';
import { VisionWorkers } from './vision/VisionWorkers.ts';
import { routerCapabilities } from './sfu/routerCapabilities.ts';
import { whipRoute } from './whip/whipRoute.ts';
import { WhipSessions } from './whip/WhipSessions.ts';
import type { AnalysisLoad } from './pipeline/analysisLoad.ts';

const log = createLogger('app');
const CLIENT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../client/dist');

export interface App {
  /** http://host:port the server listens on. */
  url: string;
  rooms: Rooms;
  pool: WorkerPool;
  /** Undefined when the tap is disabled by configuration. */
  taps: FrameTaps | undefined;
  /** Pulled sources (`/rooms/:room/sources`). */
  sources: Sources;
  metrics: Metrics;
  hub: AffectHub;
  whip: WhipSessions;
  /** A token signed with this server's TOKEN_SECRET (or its random one), valid for `ttlSeconds`. */
  subscriberToken(claims: Unsigned<SubscriberClaims>, ttlSeconds?: number): Promise<string>;
  participantToken(claims: Unsigned<ParticipantClaims>, ttlSeconds?: number): Promise<string>;
  /**
   * Several nodes: stop taking rooms (the directory says so), close this node's rooms telling their
   * participants (`roomClosed`, `server-shutdown`: they rejoin, and are sent to another node), and wait at most
   * DRAIN_TIMEOUT_MS for their sockets to go. A single node has nothing to hand over: close() says goodbye.
   */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** How long a token handed to a call participant (for its room's dashboard) stays valid, at most. */
const PARTICIPANT_TOKEN_TTL_S = 3600;
/** Per socket, either namespace. */
const REQUESTS_PER_SECOND = 20;
const REQUEST_BURST = 60;

/** Starts the whole service: workers, rooms, signaling, frame taps, HTTP. */
export async function startApp(config: Config): Promise<App> {
  setLogLevel(config.logLevel);
  const tls = config.tls && readTls(config.tls);
  const pool = await WorkerPool.create({
    numWorkers: config.mediasoup.numWorkers,
    rtcMinPort: config.mediasoup.rtcMinPort,
    rtcMaxPort: config.mediasoup.rtcMaxPort,
  });
  const rooms = new Rooms(pool, config.limits.maxRooms, {
    maxPeers: config.limits.maxPeersPerRoom,
    maxProducersPerPeer: config.limits.maxProducersPerPeer,
    listenIp: config.mediasoup.listenIp,
    announcedAddress: config.mediasoup.announcedAddress,
  });
  const metrics = createMetrics(() => countSfu(pool, rooms));
  pool.on('workerDied', () => metrics.workerDeaths.inc());
  // Several nodes share rooms' events through Redis; without REDIS_URL everything stays in this process.
  const cluster =
    config.cluster &&
    (await startCluster(config.cluster, { registry: metrics.registry, rooms, log }).catch((error: unknown) => {
      pool.close();
      throw error;
    }));
  const lagging = new LaggingDecoders();
  metrics.observeLaggingDecoders(lagging);
  // Frame buffers go round: decoded into, analysed, given back. Without analysis nothing gives them back.
  const frames = config.tap.enabled && config.analysis.enabled ? new FramePool() : undefined;
  const taps = config.tap.enabled ? new FrameTaps(rooms, { ...config.tap, frames }, metrics, lagging) : undefined;
  // TAP_ENABLED=false decodes no video at all, a pulled source's included.
  const maxSources = config.tap.enabled ? config.sources.maxSources : 0;
  const sources = new Sources(rooms, { ...config.tap, ...config.sources, maxSources, place: cluster?.place, lagging, frames }, metrics);
  const key = tokenKey(config.auth.tokenSecret ?? randomBytes(32).toString('hex'));
  if (!config.auth.tokenSecret) log.warn('TOKEN_SECRET not set: tokens are valid for this process only');
  const whip = new WhipSessions(rooms, metrics, { ...config.whip, place: cluster?.place });
  const participantPresent = (roomId: string, peerId: string) => rooms.get(roomId)?.peers.has(peerId) ?? false;
  // A dashboard token's participant may be in a room of this node or, with several nodes, of another.
  const participantPresentAnywhere = async (roomId: string, peerId: string) =>
    participantPresent(roomId, peerId) || ((await cluster?.participantPresentElsewhere(roomId, peerId)) ?? false);
  /** This node's counts, and each capacity's use against its limit: /healthz reports them, the cluster its load. */
  const state = () => {
    const counts = countSfu(pool, rooms);
    const usage = {
      rooms: { used: counts.rooms, limit: config.limits.maxRooms },
      taps: { used: taps?.size ?? 0, limit: config.tap.maxTaps },
      // No sources allowed is no pressure.
      ...(maxSources > 0 && { sources: { used: sources.size, limit: maxSources } }),
      subscribers: { used: hub.subscriberCount, limit: config.events.maxSubscribers },
    };
    return { counts, usage };
  };

  const httpServer = createHttpServer({
    tls,
    clientRoot: CLIENT_ROOT,
    registry: metrics.registry,
    allowedOrigins: config.allowedOrigins,
    metricsToken: config.metricsToken,
    idleTimeoutMs: config.httpIdleTimeoutMs,
    routes: [
      sourcesRoute(sources, key),
      historyRoute({
        tokenKey: key,
        history: cluster?.history,
        maxEvents: config.cluster?.history.readMaxEvents ?? 0,
        participantPresent: participantPresentAnywhere,
      }),
      whipRoute({
        sessions: whip,
        capabilities: await routerCapabilities(pool),
        authMode: config.auth.mode,
        tokenKey: key,
        maxSdpBytes: config.whip.maxSdpBytes,
        maxDisplayNameLength: config.limits.maxDisplayNameLength,
        analysedByDefault: config.analysis.defaultOn,
      }),
    ],
    health: () => {
      const { counts, usage } = state();
      const view = cluster?.view();
      // The analysis starts before the server listens, so it is there by the time anyone asks.
      const load = analysis?.load();
      return {
        ...healthOf(counts.workers, { ...usage, whipSessions: { used: whip.size, limit: whip.limit } }, [
          ...(load?.shedding ? ['analysis'] : []),
          ...(lagging.fewBehind ? [] : ['decoding']),
        ]),
        ...counts,
        whipSessions: whip.size,
        taps: usage.taps.used,
        decodersBehind: lagging.behind,
        sources: sources.size,
        subscribers: usage.subscribers.used,
        ...(load && { analysis: load }),
        ...(view && { cluster: view }),
      };
    },
  });
  const io = new SocketIoServer(httpServer, {
    // The largest request signaling accepts, and its framing: a bigger message is cut off unread.
    maxHttpBufferSize: MAX_REQUEST_BYTES + 1024,
    parser: textOnlyParser,
    // A page of another site, or an address holding its limit of connections, is refused before a socket
    // exists (HTTP answers another site's page 403 likewise).
    allowRequest: (req, callback) => {
      if (!requestOriginAllowed(req, config.allowedOrigins)) {
        metrics.connectionsRefused.inc({ reason: 'origin' });
        return callback('origin not allowed', false);
      }
      callback('too many connections from this address', connections.admits(req));
    },
    serveClient: false,
    ...(cluster && { adapter: cluster.adapter }),
    // A subscriber that drops off briefly gets what it missed on reconnection, while its token holds (AffectHub).
    connectionStateRecovery: { maxDisconnectionDuration: config.events.recoveryWindowMs, skipMiddlewares: false },
  });
  const addressOf = (req: IncomingMessage) => clientAddress(req, config.trustProxy);
  const connections = limitConnectionsPerAddress(io, new AddressQuota(config.limits.maxConnectionsPerAddress), addressOf, () =>
    metrics.connectionsRefused.inc({ reason: 'address' }),
  );
  if (config.auth.mode === 'open') {
    log.warn('CALL_AUTH=open: ANYONE WHO REACHES THIS SERVER JOINS ANY CALL AND READS ITS AFFECT DATA; for a demo on this machine only', {
      host: config.host,
    });
  }
  io.use(callAuthMiddleware(config.auth.mode, key));
  const subscriberToken = (claims: Unsigned<SubscriberClaims>, ttlSeconds = PARTICIPANT_TOKEN_TTL_S) =>
    signSubscriberToken(claims, key, ttlSeconds);
  const participantToken = (claims: Unsigned<ParticipantClaims>, ttlSeconds = PARTICIPANT_TOKEN_TTL_S) =>
    signParticipantToken(claims, key, ttlSeconds);
  const participant = (roomId: string, peer: Peer, present: boolean): ParticipantUpdate => ({
    roomId,
    peerId: peer.id,
    displayName: peer.displayName,
    analysed: peer.analysed,
    present,
  });
  const webhooks = config.webhooks && startWebhooks(config.webhooks, rooms, metrics.registry);
  const hub = new AffectHub(
    io,
    {
      tokenKey: key,
      participantPresent,
      participantPresentElsewhere: cluster?.participantPresentElsewhere,
      participants: (roomId) => {
        const room = rooms.get(roomId);
        if (room || !cluster) return [...(room?.peers.values() ?? [])].map((peer) => participant(roomId, peer, true));
        return cluster.participantsElsewhere(roomId);
      },
      requestsPerSecond: REQUESTS_PER_SECOND,
      requestBurst: REQUEST_BURST,
      maxSubscribers: config.events.maxSubscribers,
      maxSubscriptionsPerSocket: config.events.maxSubscriptionsPerSubscriber,
      maxSubscribersPerToken: config.events.maxSubscribersPerToken,
      maxBufferedMessages: config.events.maxBufferedEvents,
      history: cluster && config.cluster && { store: cluster.history, resumeMaxEvents: config.cluster.history.resumeMaxEvents },
      observers: webhooks ? [webhooks.onAffect] : [],
    },
    metrics,
  );
  // A participant's dashboard tokens die with its membership, however it ends (leave, disconnect, room closed).
  rooms.on('roomCreated', (room) => room.on('peerJoined', (peer) => peer.once('closed', () => hub.revokeParticipant(peer.id))));
  // Subscribers learn who the events are about (names, consent) from the room itself; other nodes' from the cluster.
  rooms.on('roomCreated', (room) => {
    const tell = (update: ParticipantUpdate) => {
      hub.publishParticipant(update);
      cluster?.recordParticipant(update);
    };
    room.on('peerJoined', (peer) => tell(participant(room.id, peer, true)));
    room.on('analysisChanged', (peer) => tell(participant(room.id, peer, true)));
    room.on('peerLeft', (peer) => tell(participant(room.id, peer, false)));
    cluster?.roomCreated(room);
  });
  attachSignaling(io, rooms, metrics, {
    maxDisplayNameLength: config.limits.maxDisplayNameLength,
    analysedByDefault: config.analysis.defaultOn,
    requestsPerSecond: REQUESTS_PER_SECOND,
    requestBurst: REQUEST_BURST,
    roomsPerAddress: new AddressQuota(config.limits.maxRoomsPerAddress),
    addressOf: (socket) => addressOf(socket.request),
    place: cluster?.place,
    subscriberToken: async (roomId, peerId) => ({
      token: await subscriberToken({ room: roomId, participant: peerId }),
      ttlSeconds: PARTICIPANT_TOKEN_TTL_S,
    }),
  });
  if (!config.analysis.enabled) log.warn('analysis off (ANALYSIS_ENABLED=false): calls work, faces are not analysed');
  // Every stream is analysed alike: a call participant's or WHIP publisher's tapped video, or a pulled source.
  const streams$ = merge(taps?.streams$ ?? EMPTY, sources.streams$);
  const analysis = taps && config.analysis.enabled ? await startAnalysis(config, streams$, hub, metrics, frames) : undefined;

  httpServer.listen(config.port, config.host);
  await once(httpServer, 'listening');
  const { port } = httpServer.address() as AddressInfo;
  const url = `${config.tls ? 'https' : 'http'}://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  log.info('listening', { url, workers: pool.size, tap: config.tap.enabled });
  cluster?.start({ url, state, connectedSockets: () => io.of('/').sockets.size });

  return {
    url,
    rooms,
    pool,
    taps,
    sources,
    metrics,
    hub,
    whip,
    subscriberToken,
    participantToken,
    async drain() {
      // A WHIP client cannot be told to go elsewhere: it learns when its session ends, and publishes again.
      whip.stopAccepting();
      await cluster?.drain();
    },
    async close() {
      // First, while the analysis runs: the publishers' faces are lost (face-lost events) like a leaving participant's.
      whip.closeAll();
      sources.closeAll();
      await analysis?.stop();
      taps?.closeAll();
      hub.close();
      rooms.closeAll();
      await webhooks?.close();
      // The node leaves after its rooms (their leases go first on its connection), Redis closes after socket.io's adapter.
      await cluster?.leave();
      io.close();
      await cluster?.close();
      pool.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/**
 * The certificate and key files, read once at start, before anything else starts: a file that cannot be
 * read, or a key that is not the certificate's, is a setting to fix.
 */
function readTls({ certFile, keyFile }: NonNullable<Config['tls']>): { cert: Buffer; key: Buffer } {
  const read = (variable: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError(`invalid configuration: ${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error})`);
    }
  };
  const pair = { cert: read('TLS_CERT', certFile), key: read('TLS_KEY', keyFile) };
  try {
    createSecureContext(pair);
  } catch (error) {
    throw new ConfigError(`invalid configuration: TLS_CERT/TLS_KEY: ${(error as Error).message}`);
  }
  return pair;
}

interface Analysis {
  load(): AnalysisLoad;
  stop(): Promise<void>;
}

/** Loads the models (in vision worker threads unless VISION_WORKERS=0) and analyses every tapped stream. */
async function startAnalysis(
  config: Config,
  streams$: Observable<FrameStream>,
  hub: AffectHub,
  metrics: Metrics,
  frames: FramePool | undefined,
): Promise<Analysis> {
  const { vision } = config;
  const sessionOptions = { provider: vision.provider, intraOpThreads: vision.intraOpThreads, interOpThreads: vision.interOpThreads };
  const detectorOptions = { model: vision.detectorModel, minScore: vision.detectorMinScore };
  let detector: FaceDetector;
  let model: AffectModel;
  let release: () => Promise<void>;
  if (vision.workers > 0) {
    const workers = await VisionWorkers.start({
      count: vision.workers,
      init: { sessions: sessionOptions, detector: detectorOptions, affectModelPath: vision.affectModelPath, nice: vision.nice },
      log: (level, message) => log[level](message),
    });
    ({ detector, model } = workers);
    release = () => workers.close();
  } else {
    const sessions = createSessionFactory({ ...sessionOptions, log: (line) => log.info(line) });
    detector = await createFaceDetector({ sessions, ...detectorOptions });
    model = await loadAffectModel(vision.affectModelPath, { sessions });
    release = async () => {
      await detector.release();
      await model.release();
    };
  }
  log.info('analysis on', { detector: detector.model, model: `${model.info.name} ${model.info.version}`, visionWorkers: vision.workers });
  const service = startAffectService({ streams$, detector, model, hub, metrics, options: config.analysis, frames });
  return {
    load: service.load,
    async stop() {
      service.stop();
      await release();
    },
  };
}

function countSfu(pool: WorkerPool, rooms: Rooms): SfuCounts {
  const counts: SfuCounts = {
    workers: pool.size,
    rooms: rooms.size,
    peers: 0,
    transports: 0,
    audioProducers: 0,
    videoProducers: 0,
    consumers: 0,
  };
  for (const room of rooms.values()) {
    for (const peer of room.peers.values()) {
      counts.peers += 1;
      counts.transports += peer.transports.size;
      counts.consumers += peer.consumers.size;
      for (const producer of peer.producers.values()) {
        if (producer.kind === 'audio') counts.audioProducers += 1;
        else counts.videoProducers += 1;
      }
    }
  }
  return counts;
}
