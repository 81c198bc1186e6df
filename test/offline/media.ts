import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CACHE_DIR, faceVideoY4m } from '../helpers/faceVideo.ts';

const run = promisify(execFile);
const ffmpeg = (args: string[]) => run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

/** Made once per machine and cached beside the face video. */
async function cached(name: string, make: (tmp: string) => Promise<unknown>): Promise<string> {
  const out = path.join(CACHE_DIR, name);
  if (existsSync(out)) return out;
  const tmp = `${out}.tmp${path.extname(name)}`;
  await make(tmp);
  await rename(tmp, out);
  return out;
}

/** The face video as a recording would be: H.264 in MP4 (index at the front), 640x480, 25 fps, `seconds` long. */
export async function faceVideoMp4(seconds: number): Promise<string> {
  const y4m = await faceVideoY4m(10);
  return cached(`cap12-640x480-${seconds}s.mp4`, (tmp) =>
    ffmpeg(['-i', y4m, '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', tmp]),
  );
}

/** The same clip shown turned a quarter (a phone held upright): stored 640x480, displayed 480x640. */
export async function portraitFaceVideo(seconds: number): Promise<string> {
  const mp4 = await faceVideoMp4(seconds);
  return cached(`cap12-portrait-${seconds}s.mp4`, (tmp) => ffmpeg(['-i', mp4, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', tmp]));
}

/** Audio only: no video stream at all. */
export function audioOnly(): Promise<string> {
  return cached('tone-2s.m4a', (tmp) => ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', tmp]));
}

/** A video without faces (ffmpeg's test pattern). */
export function noFaces(): Promise<string> {
  return cached('testsrc-2s.mp4', (tmp) => ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25:duration=2', '-pix_fmt', 'yuv420p', tmp]));
}

/** The face video with frames 25-74 at half rate (every other one dropped): frames are not evenly spaced. */
export async function variableRateFaceVideo(): Promise<string> {
  const mp4 = await faceVideoMp4(4);
  return cached('cap12-vfr-4s.mkv', (tmp) =>
    ffmpeg(['-i', mp4, '-vf', "select='not(between(n,25,74)*mod(n,2))'", '-fps_mode', 'vfr', '-c:v', 'libx264', '-preset', 'veryfast', tmp]),
  );
}

/** The face video with a tone as its sound track: an overlay must keep the audio. */
export async function faceVideoWithAudio(seconds: number): Promise<string> {
  const mp4 = await faceVideoMp4(seconds);
  return cached(`cap12-tone-${seconds}s.mp4`, (tmp) =>
    ffmpeg(['-i', mp4, '-f', 'lavfi', '-i', `sine=frequency=300:duration=${seconds}`, '-c:v', 'copy', '-c:a', 'aac', '-shortest', tmp]),
  );
}

/** The 4 s face video looped to `minutes`, without re-encoding: a long input. */
export async function longFaceVideo(minutes: number): Promise<string> {
  const mp4 = await faceVideoMp4(4);
  return cached(`cap12-looped-${minutes}min.mp4`, (tmp) => ffmpeg(['-stream_loop', String(Math.ceil((minutes * 60) / 4) - 1), '-i', mp4, '-c', 'copy', tmp]));
}
