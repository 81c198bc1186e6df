import type { Frame } from '../../server/src/media/Frame.ts';

/** A 640x480 frame of stream `s` without pixels, for tests of what happens around the pixels. */
export const emptyFrame = (seq: number, arrivalTime = seq, decodedTime = arrivalTime): Frame => ({
  roomId: 'r',
  peerId: 'p',
  streamId: 's',
  seq,
  width: 640,
  height: 480,
  pixels: new Uint8Array(0),
  arrivalTime,
  decodedTime,
});
