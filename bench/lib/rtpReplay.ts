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
 * replayed at once as one RTP source with an SSRC each (`ssrc`, `ssrc` + 1, ...), by `sender`.
 */
export async function replaySimulcastIntoRoom(
  app: App,
  roomId: string,
  layers: readonly string[],
  ssrc: number,
  sender: SimulcastSender,
): Promise<ReplayedStream> {
  const encodings = layers.map((_, i) => ({ ssrc: ssrc + i, scaleResolutionDownBy: 2 ** (layers.length - 1 - i) }));
  const producer = await plainVideoProducer(app, roomId, encodings);
  const sending = await sender.send(producer.port, layers, ssrc);
  return {
    producerId: producer.producerId,
    senders: sending.senders,
    stop() {
      sending.stop();
      producer.close();
    },
  };
}

/** Sends simulcast streams' layers from one source address each, through a child process that serves them all. */
export interface SimulcastSender {
  process: ChildProcess;
  /** Starts sending `layers` to `destination`: the processes of this stream's own (their CPU is the load generator's), and how to stop. */
  send(destination: number, layers: readonly string[], ssrc: number): Promise<{ senders: ChildProcess[]; stop(): void }>;
  close(): void;
}

/** A bench child process (`file`, next to this one) answering each IPC request by its id. */
function forkChild<Reply>(file: string) {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: 'ignore' });
  const waiting = new Map<number, (reply: Reply) => void>();
  child.on('message', (reply: Reply & { id: number }) => {
    waiting.get(reply.id)?.(reply);
    waiting.delete(reply.id);
  });
  let next = 0;
  return {
    child,
    request(message: object): Promise<Reply> {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        child.send({ ...message, id });
      });
    },
  };
}

/**
 * One ffmpeg per stream (both layers), made one source by the udpMerge.ts process, which binds local ports whose
 * packets reach the destination from one address. What the layer-switch test uses: a tap that asks for the full layer
 * stalled after its first frame with the replayer (1 run in 2; not understood), not with this sender.
 */
export function startUdpMerger(): SimulcastSender {
  const { child, request } = forkChild<{ ports: number[] }>('./udpMerge.ts');
  return {
    process: child,
    async send(destination, layers, ssrc) {
      const { ports } = await request({ destination, inputs: layers.length });
      const sender = sendRtp(layers, ssrc, ports);
      return { senders: [sender], stop: () => sender.kill('SIGKILL') };
    },
    close: () => child.kill('SIGKILL'),
  };
}

/** The rtpReplayer.ts process: every stream's layers replayed by one process (its CPU shared by all streams: no senders of their own). */
export function startRtpReplayer(): SimulcastSender {
  const { child, request } = forkChild<{ id: number }>('./rtpReplayer.ts');
  return {
    process: child,
    async send(destination, files, ssrc) {
      const { id } = await request({ type: 'start', destination, files, ssrc, payloadType: PAYLOAD_TYPE });
      return {
        senders: [],
        stop() {
          if (child.connected) child.send({ type: 'stop', id });
        },
      };
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
