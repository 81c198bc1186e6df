/**
 * A child process that replays recorded RTP for every simulcast stream of a benchmark, as many browsers would send
 * it: one ffmpeg per stream cost about 1.3% of a core each, a third of the 2-core VM at 48 streams, on the cores the
 * server under test needs. Each layer file is packetized once by ffmpeg (the same packets its RTP muxer sends live);
 * each stream then sends them from one socket (a PlainTransport accepts one source address), looped and paced by
 * their RTP timestamps, with its own SSRCs and continuing sequence numbers, timestamps and VP8 picture ids, so that
 * every loop looks like more of the same camera.
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';

type Request = { type: 'start'; id: number; destination: number; files: string[]; ssrc: number; payloadType: number } | { type: 'stop'; id: number };

interface Recording {
  packets: Buffer[];
  /** Each packet's send time from the start of the loop, ms (its RTP timestamp's). */
  offsetsMs: number[];
  /** One loop: the last frame's time plus one frame interval. */
  loopMs: number;
  loopTicks: number;
  frames: number;
}

const CLOCK_KHZ = 90;
const TICK_MS = 5;
const recordings = new Map<string, Promise<Recording>>();

/** ffmpeg's RTP muxer output for `file`, caught on a local socket as fast as ffmpeg writes it. */
function record(file: string): Promise<Recording> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: 'udp4', recvBufferSize: 16 << 20 });
    const packets: Buffer[] = [];
    socket.on('message', (packet) => packets.push(packet));
    socket.bind(0, '127.0.0.1', () => {
      const ffmpeg = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:v', '-c:v', 'copy', '-f', 'rtp', `rtp://127.0.0.1:${socket.address().port}`], {
        stdio: 'ignore',
      });
      ffmpeg.on('exit', (code) => {
        // The last datagrams may still be in the socket.
        setTimeout(() => {
          socket.close();
          const first = packets[0];
          const seq = (p: Buffer) => p.readUInt16BE(2);
          const lost = first ? (seq(packets.at(-1)!) - seq(first) + 1 - packets.length) & 0xffff : 0;
          if (code !== 0 || !first || lost !== 0) return reject(new Error(`recording ${file}: ffmpeg exited ${code}, ${packets.length} packets, ${lost} lost`));
          const ts = (p: Buffer) => p.readUInt32BE(4);
          const offsetsMs = packets.map((p) => ((ts(p) - ts(first)) >>> 0) / CLOCK_KHZ);
          const frameStarts = new Set(packets.map(ts)).size;
          const lastMs = offsetsMs.at(-1)!;
          const loopMs = lastMs + lastMs / Math.max(1, frameStarts - 1);
          resolve({ packets, offsetsMs, loopMs, loopTicks: Math.round(loopMs * CLOCK_KHZ), frames: frameStarts });
        }, 100);
      });
    });
  });
}

/** The VP8 payload descriptor's 15-bit picture id (ffmpeg writes X, I and M set), moved on by `by` frames. */
function shiftPictureId(packet: Buffer, by: number): void {
  const HEADER = 12 + 4 * (packet[0]! & 0x0f) + (packet[0]! & 0x10 ? 4 + 4 * packet.readUInt16BE(12 + 4 * (packet[0]! & 0x0f) + 2) : 0);
  const d = packet[HEADER]!;
  if (!(d & 0x80) || !(packet[HEADER + 1]! & 0x80) || !(packet[HEADER + 2]! & 0x80)) return;
  const id = ((packet.readUInt16BE(HEADER + 2) & 0x7fff) + by) & 0x7fff;
  packet.writeUInt16BE(0x8000 | id, HEADER + 2);
}

interface Stream {
  id: number;
  socket: Socket;
  destination: number;
  ssrc: number;
  payloadType: number;
  layers: Recording[];
  startMs: number;
  /** Per layer: packets sent so far (all loops). */
  sent: number[];
  seqBase: number[];
  tsBase: number[];
}

let streams: Stream[] = [];

function pump(): void {
  const now = performance.now();
  for (const stream of streams) {
    stream.layers.forEach((layer, l) => {
      for (;;) {
        const n = stream.sent[l]!;
        const loop = Math.floor(n / layer.packets.length);
        const i = n % layer.packets.length;
        if (stream.startMs + loop * layer.loopMs + layer.offsetsMs[i]! > now) break;
        const packet = Buffer.from(layer.packets[i]!);
        packet.writeUInt16BE((stream.seqBase[l]! + n) & 0xffff, 2);
        packet.writeUInt32BE((stream.tsBase[l]! + packet.readUInt32BE(4) - layer.packets[0]!.readUInt32BE(4) + loop * layer.loopTicks) >>> 0, 4);
        packet.writeUInt32BE(stream.ssrc + l, 8);
        packet[1] = (packet[1]! & 0x80) | stream.payloadType;
        shiftPictureId(packet, loop * layer.frames);
        stream.socket.send(packet, stream.destination, '127.0.0.1');
        stream.sent[l] = n + 1;
      }
    });
  }
}

setInterval(pump, TICK_MS);

process.on('message', async (request: Request) => {
  if (request.type === 'stop') {
    for (const stream of streams.filter((s) => s.id === request.id)) stream.socket.close();
    streams = streams.filter((s) => s.id !== request.id);
    return;
  }
  const { id, destination, files, ssrc, payloadType } = request;
  const layers = await Promise.all(
    files.map((file) => {
      if (!recordings.has(file)) recordings.set(file, record(file));
      return recordings.get(file)!;
    }),
  );
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const random = (range: number) => Math.floor(Math.random() * range);
  streams.push({
    id,
    socket,
    destination,
    ssrc,
    payloadType,
    layers,
    startMs: performance.now(),
    sent: layers.map(() => 0),
    seqBase: layers.map(() => random(0x10000)),
    tsBase: layers.map(() => random(0x100000000)),
  });
  process.send!({ id });
});
process.on('disconnect', () => process.exit(0));
