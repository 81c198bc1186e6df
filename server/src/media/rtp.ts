/** The few RTP header facts the tap needs (RFC 3550). */
export interface RtpHeader {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
}

/** RTCP packet types 200..207 land on second-byte values 200..207 whatever the marker bit. */
export function isRtcp(packet: Uint8Array): boolean {
  const second = packet[1];
  return packet.length >= 2 && second !== undefined && second >= 192 && second <= 223;
}

export function parseRtpHeader(packet: Buffer): RtpHeader | undefined {
  if (packet.length < 12 || (packet[0]! >> 6) !== 2 || isRtcp(packet)) return undefined;
  return {
    payloadType: packet[1]! & 0x7f,
    marker: (packet[1]! & 0x80) !== 0,
    sequenceNumber: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
  };
}
