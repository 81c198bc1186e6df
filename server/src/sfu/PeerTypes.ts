import type { types } from 'mediasoup';

export interface PeerOptions {
  maxProducers: number;
  /** Where WebRTC transports listen, and the address announced to browsers in ICE candidates. */
  listenIp: string;
  announcedAddress: string;
}

/** Who joins: what the others see, and whether their video may be analysed. */
export interface PeerSpec {
  displayName: string;
  analysed: boolean;
}

/** Events about this peer's own consumers, for its client. */
export interface PeerEvents {
  consumerClosed: [consumerId: string];
  consumerPaused: [consumerId: string];
  consumerResumed: [consumerId: string];
  producerAdded: [producer: types.Producer];
  closed: [];
}

export type Direction = 'send' | 'recv';

/** What the peer hangs on its transports, so a produce/consume request can check the transport's role. */
export interface TransportAppData extends types.AppData {
  direction: Direction;
}
