import { VideoDecoder } from '../../server/src/offline/decodeVideo.ts';
import type { RgbImage } from '../../server/src/vision/types.ts';

/** A video file decoded by ffmpeg to packed RGB frames at `fps`, scaled to width x height. */
export async function* rgbFrames(file: string, { fps, width, height }: { fps: number; width: number; height: number }): AsyncGenerator<RgbImage> {
  const decoder = new VideoDecoder({ input: file, width, height, fps });
  for await (const { pixels } of decoder.frames()) yield { width, height, pixels };
  const { exitCode, errors } = await decoder.end;
  if (exitCode !== 0) throw new Error(`ffmpeg exited with ${exitCode} decoding ${file}: ${errors.join('; ')}`);
}
