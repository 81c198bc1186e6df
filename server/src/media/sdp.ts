/** The RTP codec of a tapped stream, as mediasoup describes it in a consumer's RTP parameters. */
export interface TapCodec {
  mimeType: string;
  payloadType: number;
  clockRate: number;
  parameters?: Record<string, unknown>;
}

/**
 * An SDP that makes ffmpeg receive one RTP video stream on `port` of 127.0.0.1.
 * RTCP is muxed on the same port so ffmpeg binds a single socket.
 */
export function tapSdp(codec: TapCodec, port: number): string {
  const encoding = codec.mimeType.split('/')[1];
  if (!encoding) throw new Error(`not a codec mime type: ${codec.mimeType}`);
  const fmtp = Object.entries(codec.parameters ?? {})
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(';');
  return [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=affect-tap',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=video ${port} RTP/AVP ${codec.payloadType}`,
    `a=rtpmap:${codec.payloadType} ${encoding}/${codec.clockRate}`,
    ...(fmtp ? [`a=fmtp:${codec.payloadType} ${fmtp}`] : []),
    'a=rtcp-mux',
    'a=recvonly',
    '',
  ].join('\r\n');
}
