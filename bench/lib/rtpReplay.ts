import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { App } from '../../server/src/app.ts';
import { CACHE_DIR, faceVideoY4m } from '../../test/helpers/faceVideo.ts';

const run = promisify(execFile);
const PAYLOAD_TYPE = 101;

/**
 * The face video (`seconds` of it) encoded once as VP8 (640x480, 25 fps, a keyframe every second so a restarted
 * decoder waits at most that long; replay cannot answer keyframe requests). Frame times jitter by 0-7 ms as a
 * real camera's do: the frame tap identifies frames by their RTP timestamp intervals.
 */
export function faceVideoVp8(seconds = 10): Promise<string> {
  return encodedFaceVideo('cap12-640x480-vp8-jitter', seconds, 'settb=1/1000,setpts=N*40+floor(random(0)*8)', '800k', 25);
}

/**
 * Its half-size simulcast layer, as the call page sends it (320x240, at most 15 fps: every other frame of the
 * 25 fps source, 12.5 fps, a keyframe every second, ~250 kb/s), with the same frame-time jitter.
 */
export function faceVideoVp8HalfLayer(seconds = 10): Promise<string> {
  const filter = "select='not(mod(n,2))',scale=320:240,settb=1/1000,setpts=N*80+floor(random(0)*8)";
  return encodedFaceVideo('cap12-320x240-12fps-vp8-jitter', seconds, filter, '250k', 12);
}

async function encodedFaceVideo(name: string, seconds: number, filter: string, bitrate: string, keyframeInterval: number): Promise<string> {
  const out = path.join(CACHE_DIR, `${name}-${seconds}s.webm`);
  if (existsSync(out)) return out;
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-i', await faceVideoY4m(seconds),
    '-vf', filter,
    '-fps_mode', 'passthrough',
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', bitrate, '-g', String(keyframeInterval),
    `${out}.tmp.webm`,
  ]);
  await run('mv', [`${out}.tmp.webm`, out]);
  return out;
}

export interface ReplayedStream {
  producerId: string;
  /** The processes sending RTP, to measure what load generation costs. */
  senders: ChildProcess[];
  stop(): void;
}

/**
 * A VP8 video producer of a new peer in `roomId`, fed over a PlainTransport by whatever sends RTP to `port`:
 * one stream `ssrc`, or simulcast layers (lowest first) with the SSRCs and scales given.
 */
export async function plainVideoProducer(
  app: App,
  roomId: string,
  ssrc: number | { ssrc: number; scaleResolutionDownBy: number }[],
  payloadType = PAYLOAD_TYPE,
) {
  const { room, peer } = await app.rooms.join(roomId, { displayName: `replay-${ssrc}`, analysed: true });
  const transport = await room.router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    rtcpMux: true,
    comedia: true,
  });
  const producer = await transport.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType, clockRate: 90000 }],
      encodings: typeof ssrc === 'number' ? [{ ssrc }] : ssrc,
    },
  });
  peer.adoptProducer(producer);
  return {
    producerId: producer.id,
    port: transport.tuple.localPort,
    close() {
      room.leave(peer.id);
      transport.close();
    },
  };
}

/**
 * A video producer fed by ffmpeg replaying the encoded face video as RTP without re-encoding, into a
 * PlainTransport of a peer in `roomId`: a call participant's stream at the cost of a file copy.
 */
export async function replayIntoRoom(app: App, roomId: string, file: string, ssrc: number): Promise<ReplayedStream> {
  const producer = await plainVideoProducer(app, roomId, ssrc);
  const sender = sendRtp([file], ssrc, [producer.port]);
  return {
    producerId: producer.producerId,
    senders: [sender],
    stop() {
      sender.kill('SIGKILL');
      producer.close();
    },
  };
}

/**
 * The same as a simulcast sender: `layers` (files, lowest resolution first, each half the size of the next)
 * replayed at once as one RTP source with an SSRC each (`ssrc`, `ssrc` + 1, ...), by `replayer` (its CPU is the
 * replayer's, shared by all streams: `senders` is empty).
 */
export async function replaySimulcastIntoRoom(
  app: App,
  roomId: string,
  layers: readonly string[],
  ssrc: number,
  replayer: RtpReplayer,
): Promise<ReplayedStream> {
  const encodings = layers.map((_, i) => ({ ssrc: ssrc + i, scaleResolutionDownBy: 2 ** (layers.length - 1 - i) }));
  const producer = await plainVideoProducer(app, roomId, encodings);
  const stopReplay = await replayer.replay(producer.port, layers, ssrc);
  return {
    producerId: producer.producerId,
    senders: [],
    stop() {
      stopReplay();
      producer.close();
    },
  };
}

/**
 * The same as replaySimulcastIntoRoom, sent by an ffmpeg of its own through `merger` (one source address): what
 * the layer-switch test uses, since a tap that asks for the full layer stalled after its first frame with the
 * replayer (1 run in 2; not understood) and not with this sender.
 */
export async function replaySimulcastWithFfmpeg(
  app: App,
  roomId: string,
  layers: readonly string[],
  ssrc: number,
  merger: UdpMerger,
): Promise<ReplayedStream> {
  const encodings = layers.map((_, i) => ({ ssrc: ssrc + i, scaleResolutionDownBy: 2 ** (layers.length - 1 - i) }));
  const producer = await plainVideoProducer(app, roomId, encodings);
  const senders = [sendRtp(layers, ssrc, await merger.merge(producer.port, layers.length))];
  return {
    producerId: producer.producerId,
    senders,
    stop() {
      for (const sender of senders) sender.kill('SIGKILL');
      producer.close();
    },
  };
}

/** The udpMerge.ts process: `merge(port, n)` gives n local ports whose packets reach `port` from one address. */
export interface UdpMerger {
  process: ChildProcess;
  merge(destination: number, inputs: number): Promise<number[]>;
  close(): void;
}

export function startUdpMerger(): UdpMerger {
  const child = fork(fileURLToPath(new URL('./udpMerge.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: 'ignore' });
  const waiting = new Map<number, (ports: number[]) => void>();
  child.on('message', ({ id, ports }: { id: number; ports: number[] }) => {
    waiting.get(id)?.(ports);
    waiting.delete(id);
  });
  let next = 0;
  return {
    process: child,
    merge(destination, inputs) {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        child.send({ id, destination, inputs });
      });
    },
    close: () => child.kill('SIGKILL'),
  };
}

/** The rtpReplayer.ts process: `replay(port, files, ssrc)` sends the files' RTP to `port` until the returned function stops it. */
export interface RtpReplayer {
  process: ChildProcess;
  replay(destination: number, files: readonly string[], ssrc: number): Promise<() => void>;
  close(): void;
}

export function startRtpReplayer(): RtpReplayer {
  const child = fork(fileURLToPath(new URL('./rtpReplayer.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: 'ignore' });
  const waiting = new Map<number, () => void>();
  child.on('message', ({ id }: { id: number }) => {
    waiting.get(id)?.();
    waiting.delete(id);
  });
  let next = 0;
  return {
    process: child,
    replay(destination, files, ssrc) {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, () => resolve(() => child.connected && child.send({ type: 'stop', id })));
        child.send({ type: 'start', id, destination, files, ssrc, payloadType: PAYLOAD_TYPE });
      });
    },
    close: () => child.kill('SIGKILL'),
  };
}

/**
 * One ffmpeg replaying `files` as RTP without re-encoding, looped, in real time, each file to its port with its
 * SSRC (`ssrc`, `ssrc` + 1, ...): one process, so simulcast layers stay in step.
 */
function sendRtp(files: readonly string[], ssrc: number, ports: readonly number[]): ChildProcess {
  const inputs = files.flatMap((file) => ['-re', '-stream_loop', '-1', '-i', file]);
  const outputs = files.flatMap((_, i) => [
    '-map', `${i}:v`, '-c:v', 'copy',
    '-f', 'rtp', '-payload_type', String(PAYLOAD_TYPE), '-ssrc', String(ssrc + i),
    `rtp://127.0.0.1:${ports[i]}`,
  ]);
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...inputs, ...outputs], { stdio: 'ignore' });
}
