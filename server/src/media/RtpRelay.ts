import dgram from 'node:dgram';
import { PtsBase } from './PtsBase.ts';
import { markedTimestamp, parseRtpHeader, startsFrame, startsKeyFrame } from './rtp.ts';

/** How many recent frames' arrival times are remembered: a few seconds of video, enough for decoder delay. */
const REMEMBERED_FRAMES = 256;
/** An empty RTCP receiver report (RFC 3550 6.4.2): ffmpeg reads only SR and BYE, so this changes nothing. */
const PROBE = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 0]);
const PROBE_INTERVAL_MS = 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RelayedStream {
  payloadType: number;
  ssrc: number;
  mimeType: string;
}

/**
 * Sits between mediasoup's PlainTransport and the ffmpeg decoder on loopback: forwards RTP, drops RTCP,
 * and remembers when each frame (RTP timestamp) arrived, so decoded frames can carry their arrival time.
 *
 * ffmpeg's RTP demuxer reports pts relative to the first frame it output (no RTCP SR reaches it, so it
 * never switches to NTP-based times); PtsBase finds that frame among those forwarded, whose timestamps the
 * relay marks (markedTimestamp) so that only one frame can fit. The relay forwards
 * nothing until the decoder's socket is bound (it probes with RTCP receiver reports, which ffmpeg ignores,
 * until the kernel stops refusing them), so what it forwarded is what the decoder received.
 */
export class RtpRelay {
  readonly #receive = dgram.createSocket('udp4');
  #send?: dgram.Socket;
  #ptsBase = new PtsBase();
  readonly #arrivals = new Map<number, number>();
  #packets = 0;
  #generation = 0;
  /** A new decoder gets nothing before a keyframe's first packet: see retarget. */
  #awaitingKeyFrame = true;
  #closed = false;
  /** Waiting for the stream's next packet. */
  #awaitingPacket: (() => void)[] = [];

  /** Only the tapped stream itself goes to the decoder: not RTX, padding or probation packets. */
  private constructor(private readonly stream: RelayedStream) {}

  static async create(stream: RelayedStream): Promise<RtpRelay> {
    const relay = new RtpRelay(stream);
    await new Promise<void>((resolve, reject) => {
      relay.#receive.once('error', reject);
      relay.#receive.bind(0, '127.0.0.1', () => resolve());
    });
    relay.#receive.on('message', (packet) => relay.#onPacket(packet));
    return relay;
  }

  /** Where mediasoup should send the stream. */
  get port(): number {
    return this.#receive.address().port;
  }

  get packetsReceived(): number {
    return this.#packets;
  }

  /** Resolves when the stream's next packet comes in (never, while its producer sends nothing). */
  nextPacket(): Promise<void> {
    return new Promise((resolve) => this.#awaitingPacket.push(resolve));
  }

  /**
   * Sends from now on to a (new) decoder on `port`, once it listens there. Resolves with whether it did
   * within `timeoutMs`; if not, forwarding starts anyway and pts may not map to arrival times.
   */
  async retarget(port: number, timeoutMs = 5000): Promise<boolean> {
    this.#send?.close();
    this.#send = undefined;
    this.#ptsBase = new PtsBase();
    const generation = ++this.#generation;
    const send = dgram.createSocket('udp4');
    let refusedAt = 0;
    send.on('error', () => (refusedAt = Date.now()));
    await new Promise<void>((resolve) => send.connect(port, '127.0.0.1', () => resolve()));
    const start = Date.now();
    let listening = false;
    while (!listening && Date.now() - start < timeoutMs) {
      const sentAt = Date.now();
      send.send(PROBE);
      await sleep(PROBE_INTERVAL_MS);
      // A refusal comes back within a millisecond on loopback; silence means the probe was delivered.
      listening = refusedAt < sentAt;
    }
    // Closed, or retargeted again, while probing: this socket is no longer wanted.
    if (this.#closed || generation !== this.#generation) {
      send.close();
      return false;
    }
    this.#send = send;
    this.#awaitingKeyFrame = true;
    return listening;
  }

  /** Arrival time (ms) of the frame a decoder reports with this pts, if it is still remembered. */
  arrivalOf(pts: number): number | undefined {
    const timestamp = this.#ptsBase.timestampOf(pts, (ts) => this.#arrivals.has(ts));
    return timestamp === undefined ? undefined : this.#arrivals.get(timestamp);
  }

  close(): void {
    this.#closed = true;
    this.#send?.close();
    this.#send = undefined;
    this.#receive.close();
  }

  #onPacket(packet: Buffer): void {
    const header = parseRtpHeader(packet);
    if (!header || header.payloadType !== this.stream.payloadType || header.ssrc !== this.stream.ssrc) return;
    this.#packets += 1;
    if (this.#awaitingPacket.length > 0) {
      for (const resolve of this.#awaitingPacket.splice(0)) resolve();
    }
    const timestamp = markedTimestamp(header.timestamp);
    if (!this.#arrivals.has(timestamp)) {
      this.#arrivals.set(timestamp, Date.now());
      if (this.#arrivals.size > REMEMBERED_FRAMES) {
        this.#arrivals.delete(this.#arrivals.keys().next().value!);
      }
    }
    const send = this.#send;
    if (!send) return;
    // A decoder fed from the middle of a group of pictures (it starts with a stream's first packet, or
    // restarts) sometimes ran a steady ~0.4 s behind for good (ffmpeg 5.1, VP8; 1 run in 6 with 4 streams):
    // from a keyframe on, it starts as a decoder listening before the stream began always did.
    if (this.#awaitingKeyFrame) {
      if (!startsKeyFrame(packet, header, this.stream.mimeType)) return;
      this.#awaitingKeyFrame = false;
    }
    // Only a new decoder's first packets tell its pts base; the rest of the stream need not be inspected.
    if (this.#ptsBase.collecting) this.#ptsBase.forwarded(timestamp, startsFrame(packet, header, this.stream.mimeType));
    // The packet is ours (a fresh buffer per datagram): marked in place.
    packet.writeUInt32BE(timestamp, 4);
    send.send(packet);
  }
}
