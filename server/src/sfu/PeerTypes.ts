import type { types } from 'mediasoup';

export interface PeerOptions {
  maxProducers: number;
  /** Where WebRTC transports listen, and the address announced to browsers in ICE candidates. */
  listenIp: string;
  announcedAddress: string;
}

/** Who joins: what the others see, and whether their video is analysed. */
export interface PeerSpec {
  displayName: string;
  /** Analysed from joining on. */
  analysed: boolean;
  /** May turn analysis on later (its token grants it); `analysed` when absent. */
  analysisGranted?: boolean;
}

/** Events about this peer's own consumers, for its client. */
export interface PeerEvents {
  consumerClosed: [consumerId: string];
  consumerPaused: [consumerId: string];
  consumerResumed: [consumerId: string];
  producerAdded: [producer: types.Producer];
  /** The participant opted in to or out of analysis. */
  analysisChanged: [analysed: boolean];
  closed: [];
}

export type Direction = 'send' | 'recv';

/** What the peer hangs on its transports, so a produce/consume request can check the transport's role. */
export interface TransportAppData extends types.AppData {
  direction: Direction;
}
