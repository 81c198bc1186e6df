/**
 * A child process that makes several RTP senders one source: for each request (over IPC: the destination port
 * and how many inputs), it binds that many local UDP ports and forwards every datagram arriving on them to the
 * destination from a single socket, as a browser's simulcast layers arrive, for a PlainTransport that accepts
 * packets from one address only. One process serves every stream of a benchmark, so its CPU stays with the
 * load generator's and apart from the server's.
 */
import { createSocket } from 'node:dgram';

interface MergeRequest {
  id: number;
  destination: number;
  inputs: number;
}

const bound = (socket: ReturnType<typeof createSocket>) => new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));

process.on('message', async ({ id, destination, inputs }: MergeRequest) => {
  const out = createSocket('udp4');
  const sockets = Array.from({ length: inputs }, () => createSocket('udp4'));
  for (const socket of sockets) socket.on('message', (packet) => out.send(packet, destination, '127.0.0.1'));
  await Promise.all(sockets.map(bound));
  process.send!({ id, ports: sockets.map((s) => s.address().port) });
});
process.on('disconnect', () => process.exit(0));
