import { EventEmitter } from 'node:events';
import { limitExceeded } from '../errors.ts';
import { createLogger } from '../log.ts';
import { mediaCodecs } from './codecs.ts';
import type { Peer } from './Peer.ts';
import type { PeerSpec } from './PeerTypes.ts';
import { Room } from './Room.ts';
import type { RoomOptions } from './RoomTypes.ts';
import type { WorkerPool } from './WorkerPool.ts';

const log = createLogger('sfu');

export interface RoomsEvents {
  roomCreated: [room: Room];
}

/**
 * The open rooms, created on first join on the least-loaded worker and forgotten when they close. A room
 * only comes into being with a peer joining it, and closes when its last peer leaves: none stays empty.
 * A reaper checks that promise every `reapIntervalMs` and closes (loudly) any room found empty: a bug
 * there must not hold a slot of MAX_ROOMS until restart.
 */
export class Rooms extends EventEmitter<RoomsEvents> {
  readonly #rooms = new Map<string, Room>();
  /** Rooms being created: two peers joining a new room at once must land in the same one. */
  readonly #pending = new Map<string, Promise<Room>>();
  readonly #reaper: NodeJS.Timeout;

  constructor(
    private readonly pool: WorkerPool,
    private readonly maxRooms: number,
    private readonly roomOptions: RoomOptions,
    reapIntervalMs = 10_000,
  ) {
    super();
    this.#reaper = setInterval(() => this.#reapEmpty(), reapIntervalMs).unref();
  }

  get size(): number {
    return this.#rooms.size;
  }

  values(): IterableIterator<Room> {
    return this.#rooms.values();
  }

  get(roomId: string): Room | undefined {
    return this.#rooms.get(roomId);
  }

  /** Joins `roomId`, creating it if needed. */
  async join(roomId: string, spec: PeerSpec): Promise<{ room: Room; peer: Peer }> {
    let room = await this.#getOrCreate(roomId);
    // The room may have emptied and closed while this join waited for it.
    if (room.closed) room = await this.#getOrCreate(roomId);
    try {
      return { room, peer: room.join(spec) };
    } catch (error) {
      if (room.peers.size === 0) room.close('empty');
      throw error;
    }
  }

  async #getOrCreate(roomId: string): Promise<Room> {
    const existing = this.#rooms.get(roomId);
    if (existing && !existing.closed) return existing;
    const pending = this.#pending.get(roomId);
    if (pending) return pending;
    if (this.#rooms.size + this.#pending.size >= this.maxRooms) {
      throw limitExceeded(`the server is at its limit of ${this.maxRooms} rooms`);
    }
    const creation = this.pool
      .createRouter(mediaCodecs)
      .then((router) => {
        const room = new Room(roomId, router, this.roomOptions);
        this.#rooms.set(roomId, room);
        room.once('closed', () => {
          if (this.#rooms.get(roomId) === room) this.#rooms.delete(roomId);
        });
        this.emit('roomCreated', room);
        return room;
      })
      .finally(() => this.#pending.delete(roomId));
    this.#pending.set(roomId, creation);
    return creation;
  }

  #reapEmpty(): void {
    for (const room of [...this.#rooms.values()]) {
      if (room.peers.size > 0) continue;
      log.error('room found without peers; closing it', { roomId: room.id });
      room.close('empty');
    }
  }

  closeAll(): void {
    clearInterval(this.#reaper);
    for (const room of [...this.#rooms.values()]) room.close('server-shutdown');
  }
}
