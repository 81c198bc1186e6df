import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync, createReadStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { CACHE_DIR, faceVideoY4m } from '../helpers/faceVideo.ts';

const run = promisify(execFile);

/** The face video as H.264 in MP4 (a keyframe each second, index first so it streams over HTTP), made once and cached. */
export async function faceVideoMp4(): Promise<string> {
  const out = path.join(CACHE_DIR, 'cap12-640x480-10s-h264-gop25.mp4');
  if (existsSync(out)) return out;
  const y4m = await faceVideoY4m();
  const tmp = `${out}.tmp.mp4`;
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-i', y4m,
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', tmp,
  ]);
  await rename(tmp, out);
  return out;
}

export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * ffmpeg as an RTMP server on 127.0.0.1:`port` (`-listen 1`): it waits for one client (the source's ffmpeg),
 * then sends it `file` in a loop at its own rate. It serves that one client and exits when it goes.
 */
export function rtmpServer(file: string, port: number): ChildProcess {
  return spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', '-listen', '1', `rtmp://127.0.0.1:${port}/live/face`],
    { stdio: 'ignore' },
  );
}

export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

/**
 * An HTTP server on every loopback address (127.0.0.1 and ::1) serving `file` at /face.mp4, and at
 * /redirect?to=<url> a 302 to that URL.
 */
export async function fileServer(file: string): Promise<{ port: number; close: () => void }> {
  const size = statSync(file).size;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
      return;
    }
    if (url.pathname !== '/face.mp4') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': size });
    createReadStream(file).pipe(res);
  });
  server.listen(0, '::');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** The command lines of this process's ffmpeg children that pull a source (the local servers' own are left out). */
export async function sourceDecoders(): Promise<string[]> {
  const { stdout } = await run('ps', ['-o', 'args=', '--ppid', String(process.pid)]).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .filter((line) => line.includes('ffmpeg') && line.includes('-protocol_whitelist') && !line.includes('pipe,udp,rtp'));
}
