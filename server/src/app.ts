import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server as SocketIoServer } from 'socket.io';
import type { Config } from './config.ts';
import { createHttpServer } from './http/httpServer.ts';
import { createLogger } from './log.ts';
import { FrameTaps } from './media/FrameTaps.ts';
import { createMetrics, type Metrics, type SfuCounts } from './metrics.ts';
import { attachSignaling } from './signaling/SignalingServer.ts';
import { Rooms } from './sfu/Rooms.ts';
import { WorkerPool } from './sfu/WorkerPool.ts';

const log = createLogger('app');
const CLIENT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../client/dist');

export interface App {
  /** http://host:port the server listens on. */
  url: string;
  rooms: Rooms;
  pool: WorkerPool;
  /** Undefined when the tap is disabled by configuration. */
  taps: FrameTaps | undefined;
  metrics: Metrics;
  close(): Promise<void>;
}

/** Starts the whole service: workers, rooms, signaling, frame taps, HTTP. */
export async function startApp(config: Config): Promise<App> {
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
  const taps = config.tap.enabled ? new FrameTaps(rooms, config.tap, metrics) : undefined;

  const httpServer = createHttpServer({
    clientRoot: CLIENT_ROOT,
    registry: metrics.registry,
    health: () => ({ status: pool.size > 0 ? 'ok' : 'degraded', ...countSfu(pool, rooms), taps: taps?.size ?? 0 }),
  });
  const io = new SocketIoServer(httpServer, {
    // Room for a full set of RTP capabilities; signaling refuses anything above its own, smaller limit.
    maxHttpBufferSize: 1e6,
    serveClient: false,
  });
  attachSignaling(io, rooms, metrics, {
    maxDisplayNameLength: config.limits.maxDisplayNameLength,
    requestsPerSecond: 20,
    requestBurst: 60,
  });

  httpServer.listen(config.port, config.host);
  await once(httpServer, 'listening');
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  log.info('listening', { url, workers: pool.size, tap: config.tap.enabled });

  return {
    url,
    rooms,
    pool,
    taps,
    metrics,
    async close() {
      taps?.closeAll();
      rooms.closeAll();
      io.close();
      pool.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
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
