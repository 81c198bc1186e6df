import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BYTES, type Ack } from '../../protocol/signaling.ts';
import type { App } from '../../server/src/app.ts';
import { startTestServer } from '../helpers/server.ts';

const vp8 = (ssrc: number) => ({ mid: String(ssrc), codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc }] });
const dtls = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }] };

let app: App;
const sockets: Socket[] = [];

async function connect(): Promise<Socket> {
  const socket = io(app.url, { transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return socket;
}

async function ask(socket: Socket, event: string, payload: unknown = {}): Promise<Ack<Record<string, unknown>>> {
  return (await socket.timeout(5000).emitWithAck(event, payload)) as Ack<Record<string, unknown>>;
}

async function data(socket: Socket, event: string, payload: unknown = {}): Promise<Record<string, unknown>> {
  const ack = await ask(socket, event, payload);
  if (!ack.ok) throw new Error(`${event}: ${ack.error.code} ${ack.error.message}`);
  return ack.data;
}

const errorOf = async (socket: Socket, event: string, payload: unknown) => {
  const ack = await ask(socket, event, payload);
  return ack.ok ? { code: 'OK', message: '' } : ack.error;
};

const closed = (socket: Socket) => new Promise<string>((resolve) => socket.once('disconnect', resolve));

beforeAll(async () => {
  app = await startTestServer({ ANALYSIS_ENABLED: 'false', MAX_TAPS: '1' });
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await app?.close();
});

describe('bounded by construction', () => {
  it('serialises the joins of one socket and leaves no room without a peer', async () => {
    const socket = await connect();
    const rooms = Array.from({ length: 5 }, (_, i) => `serial-${i}`);
    const acks = await Promise.all(rooms.map((roomId) => ask(socket, 'join', { roomId, displayName: 'Eve' })));
    expect(acks.filter((a) => a.ok)).toHaveLength(1);
    expect(acks.filter((a) => !a.ok && a.error.code === 'ALREADY_JOINED')).toHaveLength(4);
    expect(app.rooms.size).toBe(1);
    socket.close();
    await expect.poll(() => app.rooms.size, { timeout: 5000 }).toBe(0);
  });

  it('lets a peer consume a producer once, however often and however fast it asks', async () => {
    const sender = await connect();
    await data(sender, 'join', { roomId: 'consume-once', displayName: 'Sender' });
    const send = await data(sender, 'createTransport', { direction: 'send' });
    const { producerId } = await data(sender, 'produce', { transportId: send.id, kind: 'video', rtpParameters: vp8(3333) });

    const receiver = await connect();
    const joined = await data(receiver, 'join', { roomId: 'consume-once', displayName: 'Receiver' });
    const recv = await data(receiver, 'createTransport', { direction: 'recv' });
    const request = { transportId: recv.id, producerId, rtpCapabilities: joined.routerRtpCapabilities };
    const acks = await Promise.all(Array.from({ length: 10 }, () => ask(receiver, 'consume', request)));
    expect(acks.filter((a) => a.ok)).toHaveLength(1);
    expect(acks.filter((a) => !a.ok && a.error.code === 'INVALID_REQUEST' && /already consumed/.test(a.error.message))).toHaveLength(9);
    expect(await errorOf(receiver, 'consume', request)).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(app.rooms.get('consume-once')!.peers.get(String(joined.peerId))!.consumers.size).toBe(1);
    sender.close();
    receiver.close();
  });
  it('taps at most MAX_TAPS streams, and says so in /healthz', async () => {
    await expect.poll(() => app.taps!.size, { timeout: 5000 }).toBe(0); // the taps of the tests before are gone
    const sockets = await Promise.all([connect(), connect()]);
    const producers: string[] = [];
    for (const [i, socket] of sockets.entries()) {
      await data(socket, 'join', { roomId: 'taps', displayName: `Sender ${i}` });
      const send = await data(socket, 'createTransport', { direction: 'send' });
      producers.push(String((await data(socket, 'produce', { transportId: send.id, kind: 'video', rtpParameters: vp8(6000 + i) })).producerId));
    }
    await expect.poll(() => app.taps!.get(producers[0]!), { timeout: 5000 }).toBeDefined();
    expect(app.taps!.get(producers[1]!)).toBeUndefined();
    // A producer that sends no media gets no ffmpeg: its decoder waits for the first packet.
    expect(app.taps!.get(producers[0]!)!.decoderState).toBe('awaiting-media');
    expect(app.taps!.get(producers[0]!)!.decoderPid).toBeUndefined();
    expect(app.taps!.size).toBe(1);
    const health = async () => (await (await fetch(`${app.url}/healthz`)).json()) as { status: string; pressure: string[] };
    expect(await health()).toMatchObject({ status: 'degraded', pressure: ['taps'] });
    for (const socket of sockets) socket.close();
    await expect.poll(() => app.taps!.size, { timeout: 5000 }).toBe(0);
    expect(await health()).toMatchObject({ status: 'ok', pressure: [] });
  });
});

describe('the error edge', () => {
  it('answers what mediasoup refuses INVALID_REQUEST in our words, never INTERNAL', async () => {
    const socket = await connect();
    await data(socket, 'join', { roomId: 'refusals', displayName: 'Mallory' });
    const send = await data(socket, 'createTransport', { direction: 'send' });
    expect((await errorOf(socket, 'connectTransport', { transportId: send.id, dtlsParameters: dtls })).code).toBe('OK');
    const twice = await errorOf(socket, 'connectTransport', { transportId: send.id, dtlsParameters: dtls });
    expect(twice).toEqual({ code: 'INVALID_REQUEST', message: 'DTLS parameters refused by the media server' });
    const garbage = await errorOf(socket, 'connectTransport', { transportId: send.id, dtlsParameters: { fingerprints: 'garbage' } });
    expect(garbage).toEqual({ code: 'INVALID_REQUEST', message: 'DTLS parameters refused by the media server' });

    expect((await errorOf(socket, 'produce', { transportId: send.id, kind: 'video', rtpParameters: vp8(4444) })).code).toBe('OK');
    const sameSsrc = { ...vp8(4444), mid: 'other' };
    expect(await errorOf(socket, 'produce', { transportId: send.id, kind: 'video', rtpParameters: sameSsrc })).toEqual({
      code: 'INVALID_REQUEST',
      message: 'RTP parameters refused by the media server',
    });
    expect(await errorOf(socket, 'produce', { transportId: send.id, kind: 'audio', rtpParameters: vp8(5555) })).toEqual({
      code: 'INVALID_REQUEST',
      message: 'a producer of kind audio takes audio codecs only',
    });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).not.toMatch(/signaling_errors_total\{code="INTERNAL"\}/);
    socket.close();
  });

  it('closes a connection that sends binary, or a message above the request limit', async () => {
    const binary = await connect();
    const binaryClosed = closed(binary);
    binary.emit('join', { roomId: 'bin', displayName: Buffer.from('x') }, () => {});
    expect(await binaryClosed).toBe('transport close');

    const huge = await connect();
    const hugeClosed = closed(huge);
    huge.emit('join', { roomId: 'huge', displayName: 'x'.repeat(2 * MAX_REQUEST_BYTES) }, () => {});
    expect(await hugeClosed).toBe('transport close');
    // The service goes on.
    const fine = await connect();
    expect((await errorOf(fine, 'join', { roomId: 'fine', displayName: 'Fine' })).code).toBe('OK');
    fine.close();
  });
});
