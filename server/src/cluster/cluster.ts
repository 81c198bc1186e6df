import type { Registry } from 'prom-client';
import type { ParticipantUpdate } from '../../../protocol/affect-subscriber.ts';
import { ConfigError, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { pollUntil } from '../pollUntil.ts';
import type { Room } from '../sfu/Room.ts';
import type { Rooms } from '../sfu/Rooms.ts';
import { socketIoAdapter } from './adapter.ts';
import { AffectHistory } from './affectHistory.ts';
import { createClusterMetrics } from './clusterMetrics.ts';
import { NodeDirectory } from './nodeDirectory.ts';
import { ParticipantsDirectory } from './participants.ts';
import type { Placement } from './placement.ts';
import { connectRedis } from './redisLink.ts';

export interface ClusterDeps {
  /** The server's metrics registry (GET /metrics). */
  registry: Registry;
  /** This node's rooms: their ids go into its heartbeat, and a drain closes them. */
  rooms: Rooms;
  /** The app's logger: a node's start and drain have always been logged as the app's. */
  log: Logger;
}

/** What the cluster needs of this node once it listens. */
export interface ListeningNode {
  url: string;
  /** Its peers, and each capacity's use against its limit: its load is the fullest. */
  state(): { counts: { peers: number }; usage: Record<string, { used: number; limit: number }> };
  /** Sockets still connected: a drain waits for them to go. */
  connectedSockets(): number;
}

/**
 * Several nodes (REDIS_URL): connects to Redis, and holds what the nodes share through it: socket.io's
 * adapter, the affect history, the rooms' participant lists, and (once `start` is called) the node registry
 * and room directory. Nothing here exists on a single node: the app asks `cluster?.` throughout.
 */
export async function startCluster(options: NonNullable<Config['cluster']>, { registry, rooms, log }: ClusterDeps) {
  const redis = await connectRedis(options.redisUrl).catch((error: Error) => {
    throw new ConfigError(`REDIS_URL: ${error.message}`);
  });
  const metrics = createClusterMetrics(registry);
  metrics.redisUp.set(1);
  redis.onChange((ready) => metrics.redisUp.set(ready ? 1 : 0));
  const history = new AffectHistory(redis, options.history, metrics);
  const directory = new ParticipantsDirectory(redis);
  // Made once the server listens (its URL is the default public one), before any join can arrive.
  let node: { directory: NodeDirectory; connectedSockets: () => number } | undefined;

  return {
    adapter: socketIoAdapter(redis),
    history,
    /** A participant of a room on another node, as the room directory has it. */
    participantPresentElsewhere: async (roomId: string, peerId: string) => (await directory.list(roomId)).some((p) => p.peerId === peerId),
    /** The participants of a room on another node, as the room directory has it. */
    participantsElsewhere: (roomId: string) => directory.list(roomId),
    /** A change of a participant of this node's room, for other nodes' subscribers (best effort). */
    recordParticipant: (update: ParticipantUpdate) => directory.record(update),
    /** Holds this node's lease on a room it has just created; once the room closes, releases and forgets it. */
    roomCreated(room: Room): void {
      node?.directory.claim(room.id).catch(() => {});
      room.once('closed', () => {
        node?.directory.release(room.id);
        directory.forget(room.id);
        history.forgetRoom(room.id);
      });
    },
    /** Where a join for a room this node does not have goes. */
    place: async (roomId: string): Promise<Placement> => (node ? node.directory.place(roomId) : { here: true }),
    /** Announces this node (heartbeat) once it listens at `listening.url`. */
    start(listening: ListeningNode): void {
      const url = options.publicUrl ?? listening.url;
      const nodes = new NodeDirectory(redis, {
        id: options.nodeId,
        url,
        heartbeatMs: options.heartbeatMs,
        state: () => {
          const { counts, usage } = listening.state();
          const load = Math.max(...Object.values(usage).map(({ used, limit }) => used / limit));
          return { rooms: [...rooms.values()].map((room) => room.id), peers: counts.peers, load };
        },
      });
      node = { directory: nodes, connectedSockets: listening.connectedSockets };
      nodes.start();
      log.info('cluster node', { node: options.nodeId, publicUrl: url });
    },
    /** The cluster as /healthz shows it (as of the last heartbeat); undefined before `start`. */
    view: () => node && { node: options.nodeId, redis: redis.ready ? 'up' : 'down', nodes: node.directory.nodes },
    /**
     * Stops taking rooms (the directory says so), closes this node's rooms telling their participants
     * (`server-shutdown`: they rejoin, and are sent to another node), and waits at most DRAIN_TIMEOUT_MS for
     * their sockets to go.
     */
    async drain(): Promise<void> {
      if (!node) return;
      await node.directory.drain();
      log.info('draining: no new rooms; closing this node\'s rooms', { rooms: rooms.size });
      for (const room of [...rooms.values()]) room.close('server-shutdown');
      const { connectedSockets } = node;
      await pollUntil(() => connectedSockets() === 0, options.drainTimeoutMs, 100);
    },
    /** Stops the heartbeat and removes this node; after its rooms have closed (their leases go on the same connection). */
    async leave(): Promise<void> {
      await node?.directory.stop();
    },
    /** Closes the connection to Redis; after socket.io (its adapter reads through it). */
    async close(): Promise<void> {
      await redis.close();
    },
  };
}
