import type { types } from 'mediasoup';

/**
 * What every room's router speaks. VP8 first: browsers prefer it, it needs no licence, and the frame tap
 * decodes it with the least delay (H264 is kept for Safari and hardware encoders).
 */
export const mediaCodecs: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];
