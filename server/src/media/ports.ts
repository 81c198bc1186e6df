import dgram from 'node:dgram';

/**
 * A UDP port on 127.0.0.1 that is free right now, for a child process to bind.
 * The OS picks it; between closing our probe and the child binding it, another process could take it,
 * which the decoder survives by failing and restarting on a new port.
 */
export async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return socket.address().port;
  } finally {
    socket.close();
  }
}
