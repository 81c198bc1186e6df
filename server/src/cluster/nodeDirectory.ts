import { createLogger } from '../log.ts';
import { redisKeys } from './keys.ts';
import { decidePlacement, NodeInfoSchema, type NodeInfo, type Placement } from './placement.ts';
import type { RedisLink } from './redisLink.ts';

const log = createLogger('cluster');

export interface NodeDirectoryOptions {
  id: string;
  url: string;
  /** Heartbeat period; a node (and its rooms' leases) expires after LEASES heartbeats without one. */
  heartbeatMs: number;
  /** This node's state now: its rooms, peers and load. */
  state: () => { rooms: string[]; peers: number; load: number };
}

/** Heartbeats a node may miss before it counts as dead and its rooms are free. */
const LEASES = 3;

/** Sets the room's owner to ARGV[1] if it has none, or if it is ARGV[1] already or ARGV[3] (a dead node), with a TTL. */
const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] or owner == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;
/** Deletes the room's owner only if it is ARGV[1] (another node may own it by now). */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * The room directory and node registry in Redis. Each node announces itself (a key with a TTL its heartbeat
 * refreshes) and holds a lease on each of its rooms (likewise): a node that dies stops refreshing, and its
 * rooms are free within LEASES heartbeats, to be created again on whichever node the participants rejoin.
 * While Redis is away each node serves the rooms it has and creates any asked of it (a room may then split
 * in two until it empties: availability over one-room-one-node); the heartbeat re-claims its rooms when
 * Redis is back.
 */
export class NodeDirectory {
  #timer: NodeJS.Timeout | undefined;
  #draining = false;
  readonly #startedAt = Date.now();
  /** The cluster as of the last heartbeat, for /healthz (which answers without waiting on Redis). */
  #view: NodeInfo[] = [];

  constructor(
    private readonly redis: RedisLink,
    private readonly options: NodeDirectoryOptions,
  ) {}

  get leaseMs(): number {
    return this.options.heartbeatMs * LEASES;
  }

  get nodes(): NodeInfo[] {
    return this.#view;
  }

  start(): void {
    const beat = () => {
      this.heartbeat().catch((error: Error) => log.debug('heartbeat failed', { error: error.message }));
      this.#timer = setTimeout(beat, this.options.heartbeatMs);
    };
    beat();
  }

  /** Announces this node and refreshes its rooms' leases; then reads the cluster. */
  async heartbeat(): Promise<void> {
    if (!this.redis.ready) return;
    const { client } = this.redis;
    const state = this.options.state();
    const info: NodeInfo = {
      id: this.options.id,
      url: this.options.url,
      rooms: state.rooms.length,
      peers: state.peers,
      load: state.load,
      draining: this.#draining,
      startedAt: this.#startedAt,
    };
    await Promise.all([
      client.set(redisKeys.node(info.id), JSON.stringify(info), { PX: this.leaseMs }),
      client.sAdd(redisKeys.nodes, info.id),
      ...state.rooms.map((roomId) => this.claim(roomId)),
    ]);
    this.#view = await this.#readNodes();
  }

  /** Takes no new rooms from now on, and says so at once. */
  async drain(): Promise<void> {
    this.#draining = true;
    await this.heartbeat().catch(() => {});
  }

  /**
   * Where a join for `roomId`, which this node does not have, should go; reserves the room when here. Redis
   * away (or failing mid-way): here, without the directory.
   */
  async place(roomId: string): Promise<Placement> {
    if (this.redis.ready) {
      try {
        return await this.#place(roomId);
      } catch (error) {
        log.warn('room directory failed; placing here', { roomId, error: (error as Error).message });
      }
    } else {
      log.warn('redis away: room created here without the directory', { roomId });
    }
    return this.#draining ? { here: false, refused: 'this node is shutting down' } : { here: true };
  }

  async #place(roomId: string): Promise<Placement> {
    const { client } = this.redis;
    const owner = (await client.get(redisKeys.roomNode(roomId))) ?? undefined;
    const ownerInfo = owner === undefined ? undefined : await this.#node(owner);
    const placement = decidePlacement(this.options.id, this.#draining, owner, ownerInfo, this.#draining ? await this.#readNodes() : []);
    if (!placement.here) return placement;
    // Reserve it, unless another node took it meanwhile (then go there).
    const takeover = !ownerInfo || ownerInfo.draining ? owner : undefined;
    if (await this.claim(roomId, takeover)) return placement;
    const winner = await client.get(redisKeys.roomNode(roomId));
    const winnerInfo = winner === null ? undefined : await this.#node(winner);
    return winnerInfo && !winnerInfo.draining ? { here: false, url: winnerInfo.url } : { here: true };
  }

  /** Holds (or refreshes) this node's lease on a room; `deadOwner`: a node whose lease may be taken over. */
  async claim(roomId: string, deadOwner?: string): Promise<boolean> {
    const claimed = await this.redis.client.eval(CLAIM, {
      keys: [redisKeys.roomNode(roomId)],
      arguments: [this.options.id, String(this.leaseMs), deadOwner ?? ''],
    });
    return claimed === 1;
  }

  release(roomId: string): void {
    this.redis.client
      .eval(RELEASE, { keys: [redisKeys.roomNode(roomId)], arguments: [this.options.id] })
      .catch((error: Error) => log.debug('room lease not released (it expires)', { roomId, error: error.message }));
  }

  /** Stops the heartbeat and removes this node (its rooms' leases are released by their closing). */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await Promise.all([this.redis.client.del(redisKeys.node(this.options.id)), this.redis.client.sRem(redisKeys.nodes, this.options.id)]).catch(
      () => {},
    );
  }

  async #node(id: string): Promise<NodeInfo | undefined> {
    return parseNode(await this.redis.client.get(redisKeys.node(id)));
  }

  /** Every live node; the ids of dead ones are removed from the set as they are found. */
  async #readNodes(): Promise<NodeInfo[]> {
    const { client } = this.redis;
    const ids = await client.sMembers(redisKeys.nodes);
    if (ids.length === 0) return [];
    const values = await client.mGet(ids.map((id) => redisKeys.node(id)));
    const dead = ids.filter((_, i) => values[i] === null);
    if (dead.length > 0) await client.sRem(redisKeys.nodes, dead);
    return values.flatMap((value) => parseNode(value) ?? []);
  }
}

function parseNode(json: string | null): NodeInfo | undefined {
  if (json === null) return undefined;
  try {
    const parsed = NodeInfoSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
