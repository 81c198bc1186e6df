/** One decoded video frame from a tapped producer, as the analysis pipeline sees it. */
export interface Frame {
  roomId: string;
  peerId: string;
  /** The mediasoup producer id: one stream per tapped video producer. */
  streamId: string;
  /** Increases by one per frame delivered on this stream (restarts of the decoder do not reset it). */
  seq: number;
  width: number;
  height: number;
  /** Packed RGB24, row-major, `width * height * 3` bytes. */
  pixels: Uint8Array;
  /** Wall-clock ms (Date.now() base) at which the sender captured the frame, as best known. */
  captureTime: number;
  /** Wall-clock ms at which the decoder handed the frame to Node. */
  decodedTime: number;
}
