/**
 * A wall-clock timestamp carried in the pixels: the sender draws 32 black/white blocks (24 bits of
 * Date.now() ms + an 8-bit checksum) across the top of each frame; the receiver reads them back from the
 * decoded frame. Sender and server share one clock on one host, so decoded time minus the bar is the
 * glass-to-Node latency, encoder and network included.
 */
const BLOCKS = 32;
const BAR_HEIGHT = 24;

/**
 * A browser init script: getUserMedia's video becomes a canvas copy of the camera with the bar on top,
 * redrawn at the camera's frame rate. The call page itself runs unchanged.
 */
export const timestampBarInitScript = `(() => {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    const [camera] = stream.getVideoTracks();
    if (!camera) return stream;
    const { width = 640, height = 480, frameRate = 30 } = camera.getSettings();
    const video = document.createElement('video');
    video.muted = true; video.srcObject = new MediaStream([camera]); await video.play();
    const canvas = document.createElement('canvas'); canvas.width = width; canvas.height = height;
    const ctx = canvas.getContext('2d');
    const block = width / ${BLOCKS};
    const draw = () => {
      ctx.drawImage(video, 0, 0, width, height);
      const t = Date.now() % 0x1000000;
      const check = (((t & 0xff) + ((t >> 8) & 0xff) + ((t >> 16) & 0xff)) & 0xff) ^ 0xa5;
      const word = ((t << 8) | check) >>> 0;
      for (let i = 0; i < ${BLOCKS}; i++) {
        ctx.fillStyle = (word >>> (31 - i)) & 1 ? '#fff' : '#000';
        ctx.fillRect(i * block, 0, block, ${BAR_HEIGHT});
      }
    };
    setInterval(draw, 1000 / frameRate);
    draw();
    return new MediaStream([...canvas.captureStream(frameRate).getVideoTracks(), ...stream.getAudioTracks()]);
  };
})();`;

/** The sender's Date.now() for a decoded RGB24 frame, or undefined if the bar does not read back. */
export function readTimestampBar(pixels: Uint8Array, width: number, height: number, nowMs: number): number | undefined {
  const scale = height / 480;
  const y = Math.round((BAR_HEIGHT / 2) * scale);
  let word = 0;
  for (let i = 0; i < BLOCKS; i++) {
    const x = Math.round((i + 0.5) * (width / BLOCKS));
    const o = (y * width + x) * 3;
    const luma = (pixels[o]! + pixels[o + 1]! + pixels[o + 2]!) / 3;
    word = ((word << 1) | (luma > 128 ? 1 : 0)) >>> 0;
  }
  const t = word >>> 8;
  const check = (((t & 0xff) + ((t >> 8) & 0xff) + ((t >> 16) & 0xff)) & 0xff) ^ 0xa5;
  if ((word & 0xff) !== check) return undefined;
  // Put the 24-bit ms back on the wall clock: the closest value to now with those low bits.
  const base = nowMs - (nowMs % 0x1000000);
  const candidate = base + t;
  return candidate > nowMs + 0x800000 ? candidate - 0x1000000 : candidate;
}
