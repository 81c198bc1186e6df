import { describe, expect, it } from 'vitest';
import { isRtcp, markedTimestamp, parseRtpHeader, startsFrame, startsKeyFrame } from '../../server/src/media/rtp.ts';

function rtp(payload: number[], { marker = false, extensionWords = 0 } = {}): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80 | (extensionWords ? 0x10 : 0);
  header[1] = (marker ? 0x80 : 0) | 101;
  header.writeUInt16BE(4242, 2);
  header.writeUInt32BE(0xdeadbeef, 4);
  header.writeUInt32BE(1234, 8);
  const extension = extensionWords ? Buffer.alloc(4 + 4 * extensionWords) : Buffer.alloc(0);
  if (extensionWords) extension.writeUInt16BE(extensionWords, 2);
  return Buffer.concat([header, extension, Buffer.from(payload)]);
}

describe('rtp', () => {
  it('parses the header fields the tap uses, past a header extension', () => {
    const header = parseRtpHeader(rtp([0x10], { marker: true, extensionWords: 2 }))!;
    expect(header).toEqual({ payloadType: 101, marker: true, sequenceNumber: 4242, timestamp: 0xdeadbeef, ssrc: 1234, payloadOffset: 24 });
  });

  it('tells RTCP from RTP', () => {
    expect(isRtcp(Buffer.from([0x80, 200, 0, 6]))).toBe(true);
    expect(isRtcp(rtp([0]))).toBe(false);
    expect(parseRtpHeader(Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
  });

  it('finds frame starts: VP8 S bit on partition 0, H264 single NAL / STAP-A / first FU-A fragment', () => {
    const starts = (payload: number[], mime: string) => {
      const packet = rtp(payload);
      return startsFrame(packet, parseRtpHeader(packet)!, mime);
    };
    expect(starts([0x10, 0], 'video/VP8')).toBe(true);
    expect(starts([0x00, 0], 'video/VP8')).toBe(false);
    expect(starts([0x11, 0], 'video/VP8')).toBe(false);
    expect(starts([0x65], 'video/H264')).toBe(true);
    expect(starts([0x78], 'video/H264')).toBe(true);
    expect(starts([0x7c, 0x85], 'video/H264')).toBe(true);
    expect(starts([0x7c, 0x05], 'video/H264')).toBe(false);
  });

  it('finds keyframe starts: VP8 P bit past the extended descriptor, H264 IDR or SPS in any packetisation', () => {
    const key = (payload: number[], mime: string) => {
      const packet = rtp(payload);
      return startsKeyFrame(packet, parseRtpHeader(packet)!, mime);
    };
    expect(key([0x10, 0x9d], 'video/VP8')).toBe(false); // P = 1: an inter frame
    expect(key([0x10, 0x50], 'video/VP8')).toBe(true);
    // X, then I (15-bit picture id), L and T/K: the payload header comes after 5 descriptor bytes
    expect(key([0x90, 0xf0, 0x80, 0x01, 0x07, 0x20, 0x50], 'video/VP8')).toBe(true);
    expect(key([0x90, 0xf0, 0x80, 0x01, 0x07, 0x20, 0x51], 'video/VP8')).toBe(false);
    expect(key([0x90, 0x80, 0x05, 0x50], 'video/VP8')).toBe(true); // 7-bit picture id
    expect(key([0x00, 0x50], 'video/VP8')).toBe(false); // not a frame start
    expect(key([0x65], 'video/H264')).toBe(true); // IDR slice
    expect(key([0x41], 'video/H264')).toBe(false); // non-IDR slice
    expect(key([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce], 'video/H264')).toBe(true); // STAP-A: SPS, PPS
    expect(key([0x78, 0x00, 0x02, 0x41, 0x00], 'video/H264')).toBe(false);
    expect(key([0x7c, 0x85], 'video/H264')).toBe(true); // FU-A start of an IDR
    expect(key([0x7c, 0x81], 'video/H264')).toBe(false);
    expect(key([0x7c, 0x05], 'video/H264')).toBe(false); // FU-A continuation
  });

  it('marks a frame timestamp by under 64 ticks, the same each time, and makes regular intervals irregular', () => {
    const frames = Array.from({ length: 200 }, (_, i) => (2 ** 32 - 100 * 3000 + i * 3000) % 2 ** 32); // wraps
    const marked = frames.map(markedTimestamp);
    marked.forEach((m, i) => {
      const added = (m - frames[i]! + 2 ** 32) % 2 ** 32;
      expect(added).toBeGreaterThanOrEqual(0);
      expect(added).toBeLessThan(64);
      expect(markedTimestamp(frames[i]!)).toBe(m);
    });
    const intervals = new Set(marked.slice(1).map((m, i) => (m - marked[i]! + 2 ** 32) % 2 ** 32));
    expect(intervals.size).toBeGreaterThan(60);
  });
});
