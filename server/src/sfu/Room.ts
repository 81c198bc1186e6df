import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { limitExceeded, notFound } from '../errors.ts';
import { Peer } from './Peer.ts';
import type { PeerSpec } from './PeerTypes.ts';
import type { RoomCloseReason, RoomEvents, RoomOptions } from './RoomTypes.ts';

/** A call: one mediasoup router and the peers in it. */
export class Room extends EventEmitter<RoomEvents> {
  readonly peers = new Map<string, Peer>();
  #closed = false;

  constructor(
    readonly id: string,
    readonly router: types.Router,
    private readonly options: RoomOptions,
  ) {
    super();
    router.on('workerclose', () => this.close('worker-died'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  join(spec: PeerSpec): Peer {
    if (this.peers.size >= this.options.maxPeers) {
      throw limitExceeded(`room ${this.id} is full (${this.options.maxPeers} peers)`);
    }
    const peer = new Peer(randomUUID(), spec, this.router, {
      maxProducers: this.options.maxProducersPerPeer,
      listenIp: this.options.listenIp,
      announcedAddress: this.options.announcedAddress,
    });
    this.peers.set(peer.id, peer);
    peer.on('producerAdded', (producer) => this.emit('producerAdded', peer, producer));
    peer.on('analysisChanged', () => this.emit('analysisChanged', peer));
    this.emit('peerJoined', peer);
    return peer;
  }

  leave(peerId: string): void {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    this.peers.delete(peerId);
    peer.close();
    this.emit('peerLeft', peer);
    if (this.peers.size === 0) this.close('empty');
  }

  /** Finds a producer of any peer in this room (never of another room). */
  findProducer(producerId: string): { peer: Peer; producer: types.Producer } {
    for (const peer of this.peers.values()) {
      const producer = peer.producers.get(producerId);
      if (producer) return { peer, producer };
    }
    throw notFound('producer', producerId);
  }

  close(reason: RoomCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    this.router.close();
    this.emit('closed', reason);
    this.removeAllListeners();
  }
}
