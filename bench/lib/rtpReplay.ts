import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { App } from '../../server/src/app.ts';
import { CACHE_DIR, faceVideoY4m } from '../../test/helpers/faceVideo.ts';

const run = promisify(execFile);
const PAYLOAD_TYPE = 101;

/**
 * The face video encoded once as VP8 (640x480, 25 fps, a keyframe every second so a restarted decoder
 * waits at most that long; replay cannot answer keyframe requests). Frame times jitter by 0-7 ms as a
 * real camera's do: the frame tap identifies frames by their RTP timestamp intervals.
 */
export async function faceVideoVp8(): Promise<string> {
  const out = path.join(CACHE_DIR, 'cap12-640x480-vp8-jitter.webm');
  if (existsSync(out)) return out;
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-i', await faceVideoY4m(),
    '-vf', 'settb=1/1000,setpts=N*40+floor(random(0)*8)',
    '-fps_mode', 'passthrough',
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '800k', '-g', '25',
    `${out}.tmp.webm`,
  ]);
  await run('mv', [`${out}.tmp.webm`, out]);
  return out;
}

export interface ReplayedStream {
  producerId: string;
  /** The ffmpeg process sending RTP, to measure what load generation costs. */
  sender: ChildProcess;
  stop(): void;
}

/** A VP8 video producer of a new peer in `roomId`, fed over a PlainTransport by whatever sends RTP to `port`. */
export async function plainVideoProducer(app: App, roomId: string, ssrc: number, payloadType = PAYLOAD_TYPE) {
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
      encodings: [{ ssrc }],
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
  const sender = spawn(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error',
      '-re', '-stream_loop', '-1', '-i', file,
      '-an', '-c:v', 'copy',
      '-f', 'rtp', '-payload_type', String(PAYLOAD_TYPE), '-ssrc', String(ssrc),
      `rtp://127.0.0.1:${producer.port}`,
    ],
    { stdio: 'ignore' },
  );
  return {
    producerId: producer.producerId,
    sender,
    stop() {
      sender.kill('SIGKILL');
      producer.close();
    },
  };
}
