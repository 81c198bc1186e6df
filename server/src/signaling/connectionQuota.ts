import type { IncomingMessage } from 'node:http';
import type { Server } from 'socket.io';
import { createLogger } from '../log.ts';
import type { AddressQuota } from './AddressQuota.ts';

const log = createLogger('signaling');

/**
 * Holds every engine.io connection (both namespaces ride on one) against its client address's quota. A
 * handshake from a full address is refused by `admits` before a connection exists; the few that race past
 * it (handshakes in flight together) are closed as they open.
 */
export function limitConnectionsPerAddress(io: Server, quota: AddressQuota, addressOf: (req: IncomingMessage) => string, onRefused: () => void) {
  io.engine.on('connection', (raw: { id: string; request: IncomingMessage; close(): void; once(event: 'close', listener: () => void): void }) => {
    const address = addressOf(raw.request);
    if (!quota.take(address, raw.id)) {
      onRefused();
      log.warn('connection refused: its address holds its limit of connections', { address, limit: quota.limit });
      raw.close();
      return;
    }
    raw.once('close', () => quota.give(address, raw.id));
  });
  return {
    admits(req: IncomingMessage): boolean {
      if (!quota.full(addressOf(req))) return true;
      onRefused();
      return false;
    },
  };
}
