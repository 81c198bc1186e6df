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
import { parseRtpHeader } from '../../server/src/media/rtp.ts';

type Request = { type: 'start'; id: number; destination: number; files: string[]; ssrc: number; payloadType: number } | { type: 'stop'; id: number };

/** One recorded packet, and what each send rewrites in it. */
interface RecordedPacket {
  bytes: Buffer;
  /** Its send time from the start of the loop, ms (its RTP timestamp's). */
  offsetMs: number;
  /** Its RTP timestamp from the first packet's, in clock ticks. */
  ticks: number;
  /** Where its VP8 15-bit picture id is (ffmpeg writes X, I and M set), or -1. */
  pictureIdAt: number;
}

interface Recording {
  packets: RecordedPacket[];
  /** One loop: the last frame's time plus one frame interval. */
  loopMs: number;
  loopTicks: number;
  frames: number;
}

const CLOCK_KHZ = 90;
const TICK_MS = 5;
const RTP_HEADER_BYTES = 12;
const REPORT_INTERVAL_MS = 500;
/** Seconds from 1900 (NTP's epoch) to 1970. */
const NTP_EPOCH_OFFSET_S = 2_208_988_800;
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
          const headers = packets.map((p) => parseRtpHeader(p)!);
          const recorded = packets.map((bytes, i): RecordedPacket => {
            const ticks = (headers[i]!.timestamp - headers[0]!.timestamp) >>> 0;
            return { bytes, offsetMs: ticks / CLOCK_KHZ, ticks, pictureIdAt: pictureIdOffset(bytes, headers[i]!.payloadOffset) };
          });
          const frames = new Set(headers.map((h) => h.timestamp)).size;
          const lastMs = recorded.at(-1)!.offsetMs;
          const loopMs = lastMs + lastMs / Math.max(1, frames - 1);
          resolve({ packets: recorded, loopMs, loopTicks: Math.round(loopMs * CLOCK_KHZ), frames });
        }, 100);
      });
    });
  });
}

/** Where the VP8 payload descriptor (RFC 7741) at `payload` holds a 15-bit picture id (X, I and M set), or -1. */
function pictureIdOffset(packet: Buffer, payload: number): number {
  const has = (at: number) => ((packet[at] ?? 0) & 0x80) !== 0;
  return has(payload) && has(payload + 1) && has(payload + 2) ? payload + 2 : -1;
}

interface Stream {
  id: number;
  socket: Socket;
  destination: number;
  ssrc: number;
  payloadType: number;
  layers: Recording[];
  startMs: number;
  /** Per layer: packets sent so far (all loops), and their payload bytes (for sender reports). */
  sent: number[];
  octets: number[];
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
        if (stream.startMs + loop * layer.loopMs + layer.packets[i]!.offsetMs > now) break;
        const recorded = layer.packets[i]!;
        const packet = Buffer.from(recorded.bytes);
        packet.writeUInt16BE((stream.seqBase[l]! + n) & 0xffff, 2);
        packet.writeUInt32BE((stream.tsBase[l]! + recorded.ticks + loop * layer.loopTicks) >>> 0, 4);
        packet.writeUInt32BE(stream.ssrc + l, 8);
        packet[1] = (packet[1]! & 0x80) | stream.payloadType;
        if (recorded.pictureIdAt >= 0) {
          const id = packet.readUInt16BE(recorded.pictureIdAt) & 0x7fff;
          packet.writeUInt16BE(0x8000 | ((id + loop * layer.frames) & 0x7fff), recorded.pictureIdAt);
        }
        stream.socket.send(packet, stream.destination, '127.0.0.1');
        stream.sent[l] = n + 1;
        stream.octets[l] = stream.octets[l]! + recorded.bytes.length - RTP_HEADER_BYTES;
      }
    });
  }
}

/**
 * An RTCP sender report (RFC 3550) for each layer of each stream, as a browser or ffmpeg sends them: mediasoup switches
 * a consumer between simulcast layers only once it can line their timestamps up, which takes a report from each.
 * Without them, a tap asking for the full layer got only its first frame (from the layer it started on).
 */
function report(): void {
  const nowMs = performance.timeOrigin + performance.now();
  const ntpSeconds = Math.floor(nowMs / 1000) + NTP_EPOCH_OFFSET_S;
  const ntpFraction = Math.floor(((nowMs % 1000) / 1000) * 2 ** 32);
  for (const stream of streams) {
    const ticks = Math.round((performance.now() - stream.startMs) * CLOCK_KHZ);
    stream.layers.forEach((_, l) => {
      const sr = Buffer.alloc(28);
      sr[0] = 0x80;
      sr[1] = 200;
      sr.writeUInt16BE(6, 2);
      sr.writeUInt32BE(stream.ssrc + l, 4);
      sr.writeUInt32BE(ntpSeconds >>> 0, 8);
      sr.writeUInt32BE(ntpFraction >>> 0, 12);
      sr.writeUInt32BE((stream.tsBase[l]! + ticks) >>> 0, 16);
      sr.writeUInt32BE(stream.sent[l]! >>> 0, 20);
      sr.writeUInt32BE(stream.octets[l]! >>> 0, 24);
      stream.socket.send(sr, stream.destination, '127.0.0.1');
    });
  }
}

setInterval(pump, TICK_MS);
setInterval(report, REPORT_INTERVAL_MS);

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
    octets: layers.map(() => 0),
    seqBase: layers.map(() => random(0x10000)),
    tsBase: layers.map(() => random(0x100000000)),
  });
  process.send!({ id });
});
process.on('disconnect', () => process.exit(0));
