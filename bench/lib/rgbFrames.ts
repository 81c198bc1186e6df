import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { RgbImage } from '../../server/src/vision/types.ts';

/** A video file decoded by ffmpeg to packed RGB frames at `fps`, scaled to width x height. */
export async function* rgbFrames(file: string, { fps, width, height }: { fps: number; width: number; height: number }): AsyncGenerator<RgbImage> {
  const bytes = width * height * 3;
  const ffmpeg = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-i', file],
      ...['-vf', `fps=${fps},scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(ffmpeg, 'close');
  let pixels = new Uint8Array(bytes);
  let filled = 0;
  for await (const chunk of ffmpeg.stdout as AsyncIterable<Buffer>) {
    for (let offset = 0; offset < chunk.length; ) {
      const n = Math.min(bytes - filled, chunk.length - offset);
      pixels.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === bytes) {
        yield { width, height, pixels };
        pixels = new Uint8Array(bytes);
        filled = 0;
      }
    }
  }
  const [code] = await exited;
  if (code !== 0) throw new Error(`ffmpeg exited with ${code} decoding ${file}`);
}
