import type { types } from 'mediasoup';
import type { Peer } from './Peer.ts';

export interface RoomOptions {
  maxPeers: number;
  maxProducersPerPeer: number;
  listenIp: string;
  announcedAddress: string;
}

export type RoomCloseReason = 'worker-died' | 'server-shutdown' | 'empty';

export interface RoomEvents {
  peerJoined: [peer: Peer];
  peerLeft: [peer: Peer];
  /** A peer started sending media: the other peers may consume it, and video gets tapped. */
  producerAdded: [peer: Peer, producer: types.Producer];
  /** A peer opted in to or out of analysis (`peer.analysed` says which). */
  analysisChanged: [peer: Peer];
  closed: [reason: RoomCloseReason];
}
