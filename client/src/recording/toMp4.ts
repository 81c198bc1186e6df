import { FFmpeg } from '@ffmpeg/ffmpeg';

let loaded: Promise<FFmpeg> | undefined;

/** ffmpeg.wasm, loaded once, from our own server (client/build.mjs puts its files under ffmpeg/). */
function ffmpeg(): Promise<FFmpeg> {
  loaded ??= (async () => {
    const instance = new FFmpeg();
    const url = (file: string) => new URL(`ffmpeg/${file}`, location.href).href;
    await instance.load({
      classWorkerURL: url('worker.js'),
      coreURL: url('ffmpeg-core.js'),
      wasmURL: url('ffmpeg-core.wasm'),
    });
    return instance;
  })();
  loaded.catch(() => (loaded = undefined));
  return loaded;
}

/**
 * An MP4 of `video` (a MediaRecorder recording) with `vtt` as its subtitle track (mov_text, the
 * subtitle format MP4 players read). H.264 and VP9 are copied as they are; anything else is re-encoded.
 */
export async function toMp4(video: Blob, mimeType: string, vtt: string): Promise<Blob> {
  const f = await ffmpeg();
  const input = mimeType.startsWith('video/mp4') ? 'recording.mp4' : 'recording.webm';
  await f.writeFile(input, new Uint8Array(await video.arrayBuffer()));
  await f.writeFile('affect.vtt', vtt);
  const videoCodec = /avc1|h264|vp9/i.test(mimeType)
    ? ['-c:v', 'copy']
    : ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
  try {
    const code = await f.exec([
      '-i', input,
      '-i', 'affect.vtt',
      '-map', '0:v', '-map', '1:s',
      ...videoCodec,
      '-c:s', 'mov_text', '-metadata:s:s:0', 'language=eng', '-metadata:s:s:0', 'title=Affect',
      '-movflags', '+faststart',
      'out.mp4',
    ]);
    if (code !== 0) throw new Error(`ffmpeg exited with ${code}`);
    const data = await f.readFile('out.mp4');
    if (typeof data === 'string') throw new Error('ffmpeg returned text for a binary file');
    return new Blob([data as Uint8Array<ArrayBuffer>], { type: 'video/mp4' });
  } finally {
    for (const file of [input, 'affect.vtt', 'out.mp4']) await f.deleteFile(file).catch(() => {});
  }
}
