/**
 * A child process that makes several RTP senders one source, as a browser's simulcast layers are: for each request
 * (over IPC: the destination port and how many inputs) it binds that many local UDP ports and forwards what
 * arrives on them to the destination from a single socket (a PlainTransport accepts packets from one address).
 * One process serves every stream of a benchmark, so its CPU stays with the load generator's, apart from the
 * server's.
 */
import { createSocket, type Socket } from 'node:dgram';

interface MergeRequest {
  id: number;
  destination: number;
  inputs: number;
}

const bound = (socket: Socket) => new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));

process.on('message', async ({ id, destination, inputs }: MergeRequest) => {
  const out = createSocket('udp4');
  const sockets = Array.from({ length: inputs }, () => createSocket('udp4'));
  for (const socket of sockets) socket.on('message', (packet) => out.send(packet, destination, '127.0.0.1'));
  await Promise.all(sockets.map(bound));
  process.send!({ id, ports: sockets.map((s) => s.address().port) });
});
process.on('disconnect', () => process.exit(0));
