/** One decoded video frame from a tapped producer or a pulled source, as the analysis pipeline sees it. */
export interface Frame {
  roomId: string;
  peerId: string;
  /** The mediasoup producer id (one stream per tapped video producer), or the pulled source's id. */
  streamId: string;
  /** Increases by one per frame delivered on this stream (restarts of the decoder do not reset it). */
  seq: number;
  width: number;
  height: number;
  /** Packed RGB24, row-major, `width * height * 3` bytes. */
  pixels: Uint8Array;
  /**
   * Server wall-clock ms (Date.now() base) at which the frame's RTP arrived; its decode time when the
   * arrival is unknown (e.g. a decoder that did not open its port in time, or a pulled source, read by ffmpeg itself). Not the sender's capture time:
   * the path from the camera to the server (encoding, pacing, network) is not in it.
   */
  arrivalTime: number;
  /** Wall-clock ms at which the decoder handed the frame to Node. */
  decodedTime: number;
}
