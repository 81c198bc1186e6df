import dgram from 'node:dgram';
import { parseRtpHeader } from './rtp.ts';

/** How many recent frames' arrival times are remembered: a few seconds of video, enough for decoder delay. */
const REMEMBERED_FRAMES = 256;
const TWO_POW_32 = 2 ** 32;

/**
 * Sits between mediasoup's PlainTransport and the ffmpeg decoder on loopback: forwards RTP, drops RTCP,
 * and remembers when each frame (RTP timestamp) arrived, so decoded frames can carry their arrival time.
 *
 * ffmpeg's RTP demuxer reports pts = RTP timestamp - first timestamp it received (no RTCP reaches it,
 * so it never switches to NTP-based times). The relay knows that first timestamp: it is the first packet
 * forwarded after the decoder bound its port. Packets sent before that are refused by the kernel
 * (ECONNREFUSED on the connected send socket), which resets the base.
 */
export class RtpRelay {
  readonly #receive = dgram.createSocket('udp4');
  #send?: dgram.Socket;
  #baseTimestamp?: number;
  readonly #arrivals = new Map<number, number>();
  #packets = 0;

  private constructor() {}

  static async create(): Promise<RtpRelay> {
    const relay = new RtpRelay();
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

  /** Sends from now on to a (new) decoder listening on `port`. */
  async retarget(port: number): Promise<void> {
    this.#send?.close();
    this.#baseTimestamp = undefined;
    const send = dgram.createSocket('udp4');
    send.on('error', () => this.#onRefused(send));
    await new Promise<void>((resolve) => send.connect(port, '127.0.0.1', () => resolve()));
    this.#send = send;
  }

  /** Arrival time (ms) of the frame a decoder reports with this pts, if it is still remembered. */
  arrivalOf(pts: number): number | undefined {
    if (this.#baseTimestamp === undefined) return undefined;
    return this.#arrivals.get((this.#baseTimestamp + pts) % TWO_POW_32);
  }

  close(): void {
    this.#send?.close();
    this.#send = undefined;
    this.#receive.close();
  }

  #onPacket(packet: Buffer): void {
    const header = parseRtpHeader(packet);
    if (!header) return;
    this.#packets += 1;
    if (!this.#arrivals.has(header.timestamp)) {
      this.#arrivals.set(header.timestamp, Date.now());
      if (this.#arrivals.size > REMEMBERED_FRAMES) {
        this.#arrivals.delete(this.#arrivals.keys().next().value!);
      }
    }
    const send = this.#send;
    if (!send) return;
    this.#baseTimestamp ??= header.timestamp;
    send.send(packet, (error) => {
      if (error) this.#onRefused(send);
    });
  }

  #onRefused(socket: dgram.Socket): void {
    // The decoder is not listening (yet, or any more): whatever it receives first decides its pts base.
    if (socket === this.#send) this.#baseTimestamp = undefined;
  }
}
