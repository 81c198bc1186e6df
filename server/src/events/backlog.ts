import type { Socket } from 'socket.io';

const backlogs = new WeakMap<Socket, { count: number }>();

/**
 * Counts the messages queued for a socket but not yet handed to its transport, from engine.io's
 * public `packetCreate` and `flush` events. A client that stops reading stops the transport from
 * draining, and this count grows: the signal to drop or skip it before it holds up memory.
 */
export function watchBacklog(socket: Socket): void {
  const backlog = { count: 0 };
  backlogs.set(socket, backlog);
  socket.conn.on('packetCreate', () => (backlog.count += 1));
  socket.conn.on('flush', (flushed: unknown[]) => (backlog.count = Math.max(0, backlog.count - flushed.length)));
}

export function backlogOf(socket: Socket): number {
  return backlogs.get(socket)?.count ?? 0;
}
