/** The few RTP header facts the tap needs (RFC 3550). */
export interface RtpHeader {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
  /** Where the payload starts (after CSRCs and header extension). */
  payloadOffset: number;
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
    payloadOffset: payloadOffset(packet),
  };
}

function payloadOffset(packet: Buffer): number {
  let offset = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10 && packet.length >= offset + 4) offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  return offset;
}

/**
 * Whether a packet begins something a depacketizer can output on its own: a VP8 frame (RFC 7741:
 * S bit set, partition 0) or an H264 NAL unit (RFC 6184: single NAL, STAP-A, or the first FU-A
 * fragment). A decoder that joins mid-stream throws away everything before such a packet.
 */
export function startsFrame(packet: Buffer, header: RtpHeader, mimeType: string): boolean {
  const first = packet[header.payloadOffset];
  if (first === undefined) return false;
  // mediasoup spells codecs 'video/VP8', 'video/H264'; SDP and other senders vary the case.
  switch (mimeType.toLowerCase()) {
    case 'video/vp8':
      return (first & 0x10) !== 0 && (first & 0x07) === 0;
    case 'video/h264': {
      const type = first & 0x1f;
      if (type >= 1 && type <= 24) return true;
      return type === 28 && ((packet[header.payloadOffset + 1] ?? 0) & 0x80) !== 0;
    }
    default:
      return true;
  }
}

/**
 * Whether a packet begins a keyframe, where a decoder joining mid-stream can start: a VP8 frame start
 * whose payload header has P = 0 (RFC 7741 4.3), or an H264 packet carrying an IDR slice or a sequence
 * parameter set (RFC 6184: single NAL, inside a STAP-A, or a first FU-A fragment). Other codecs: any frame start.
 */
export function startsKeyFrame(packet: Buffer, header: RtpHeader, mimeType: string): boolean {
  if (!startsFrame(packet, header, mimeType)) return false;
  const at = header.payloadOffset;
  switch (mimeType.toLowerCase()) {
    case 'video/vp8': {
      let offset = at + 1;
      const x = packet[offset - 1]! & 0x80;
      if (x) {
        const ext = packet[offset] ?? 0;
        offset += 1;
        if (ext & 0x80) offset += (packet[offset] ?? 0) & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
        if (ext & 0x40) offset += 1; // TL0PICIDX
        if (ext & 0x30) offset += 1; // TID / KEYIDX
      }
      const payloadHeader = packet[offset];
      return payloadHeader !== undefined && (payloadHeader & 0x01) === 0;
    }
    case 'video/h264':
      return h264NalTypes(packet, at).some((type) => type === 5 || type === 7);
    default:
      return true;
  }
}

/** The NAL unit types a (frame-starting) H264 RTP payload carries. */
function h264NalTypes(packet: Buffer, at: number): number[] {
  const type = packet[at]! & 0x1f;
  if (type === 28) return [(packet[at + 1] ?? 0) & 0x1f];
  if (type !== 24) return [type];
  const types: number[] = [];
  for (let offset = at + 1; offset + 2 < packet.length; ) {
    const size = packet.readUInt16BE(offset);
    types.push(packet[offset + 2]! & 0x1f);
    offset += 2 + size;
  }
  return types;
}

/**
 * A frame's RTP timestamp with a few ticks added (0-63, under 0.7 ms at 90 kHz), the same for every packet
 * of the frame and pseudo-random from frame to frame. A decoder's pts counts from a frame we cannot see it
 * pick (PtsBase); with perfectly regular intervals (an encoder on a fixed clock, a replayed file) every
 * frame fits as that base, and a wrong pick made a decoder's frames look 1-15 frames late for good. The
 * marks make the intervals irregular, so only the true base fits; the decoder ignores them.
 */
export function markedTimestamp(timestamp: number): number {
  let h = timestamp;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (timestamp + (h >>> 26)) >>> 0;
}
