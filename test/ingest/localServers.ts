import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { CACHE_DIR, faceVideoY4m } from '../helpers/faceVideo.ts';

const run = promisify(execFile);

/**
 * The face video as H.264 in MP4 (a keyframe each second, index first so it streams over HTTP), made once and
 * cached as face.mp4 in a folder of its own (a file server serves the folder).
 */
export async function faceVideoMp4(): Promise<string> {
  const out = path.join(CACHE_DIR, 'ingest-mp4', 'face.mp4');
  if (existsSync(out)) return out;
  await mkdir(path.dirname(out), { recursive: true });
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

export interface LiveServer {
  /** Kills it: clients lose their connection, new ones are refused until it runs again. */
  stop(): Promise<void>;
}

/**
 * An RTMP server on 127.0.0.1:`port` (rtmp://127.0.0.1:port/live/face) sending `file` in a loop at its own rate.
 */
export const rtmpServer = (file: string, port: number) => liveServer(file, ['-f', 'flv', '-listen', '1', `rtmp://127.0.0.1:${port}/live/face`]);

/** An SRT listener on 127.0.0.1:`port` (srt://127.0.0.1:port) sending `file` as MPEG-TS in a loop at its own rate. */
export const srtServer = (file: string, port: number) => liveServer(file, ['-f', 'mpegts', `srt://127.0.0.1:${port}?mode=listener`]);

/**
 * ffmpeg serving `file` in a loop at its own rate to `output` (a listening URL): it serves one client and exits
 * when it goes, and is started again each time, so that a client may reconnect.
 */
function liveServer(file: string, output: string[]): LiveServer {
  let child: ChildProcess | undefined;
  let running = true;
  const start = () => {
    child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', ...output], { stdio: 'ignore' });
    child.once('exit', () => running && start());
  };
  start();
  return {
    stop: async () => {
      running = false;
      await stop(child);
    },
  };
}

export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

/**
 * The face video cut into an HLS VOD playlist (2 s segments, no re-encoding) in a folder of its own, made once
 * and cached: `face.m3u8` and its segments.
 */
export async function faceVideoHls(): Promise<string> {
  const dir = path.join(CACHE_DIR, 'ingest-hls');
  if (existsSync(path.join(dir, 'face.m3u8'))) return dir;
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-i', await faceVideoMp4(),
    '-c', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', path.join(tmp, 'face.m3u8'),
  ]);
  await rename(tmp, dir);
  return dir;
}

/**
 * An HTTP server on every loopback address (127.0.0.1 and ::1) serving the files of `dir` by name (e.g.
 * /face.mp4), and at /redirect?to=<url> a 302 to that URL; `requested` lists the paths asked for.
 */
export async function fileServer(dir: string): Promise<{ port: number; requested: string[]; close: () => void }> {
  const requested: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requested.push(url.pathname);
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
      return;
    }
    const name = path.basename(url.pathname);
    const file = path.join(dir, name);
    if (name !== url.pathname.slice(1) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': name.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp4', 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  server.listen(0, '::');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    requested,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** The process ids of `parent`'s ffmpeg children that pull a source (the local media servers' and frame taps' left out). */
export async function sourceDecoders(parent = process.pid): Promise<number[]> {
  const { stdout } = await run('ps', ['-o', 'pid=,args=', '--ppid', String(parent)]).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .filter((line) => line.includes('ffmpeg') && line.includes('-protocol_whitelist') && !line.includes('pipe,udp,rtp'))
    .map((line) => Number.parseInt(line.trim(), 10));
}

/** Whether `pid` is a running process (a zombie, dead and waiting for its parent to reap it, is not). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
