import type { AffectStreamEvent } from '../../../protocol/affect-event.ts';
import type { Peer } from '../sfu/Peer.ts';
import type { Rooms } from '../sfu/Rooms.ts';
import { AffectBatcher } from './affectBatcher.ts';
import type { WebhookSender } from './WebhookSender.ts';

export interface RoomWebhooksOptions {
  /** How often changed faces are sent (`affect` webhooks); 0: never. */
  affectIntervalMs: number;
  affectMinChange: number;
}

/**
 * Turns what happens in this node's rooms into webhooks: room_started / room_finished, participant_joined /
 * participant_left, analysis_started / analysis_stopped (a participant analysed from joining on, or one who
 * opts in or out), and `affect` batches. A room lives on one node, so each happening is sent once.
 */
export function attachRoomWebhooks(rooms: Rooms, sender: Pick<WebhookSender, 'send'>, options: RoomWebhooksOptions) {
  const batcher = new AffectBatcher(options.affectMinChange);
  const who = (peer: Peer) => ({ peerId: peer.id, displayName: peer.displayName });
  rooms.on('roomCreated', (room) => {
    const roomId = room.id;
    sender.send({ event: 'room_started', createdAt: Date.now(), roomId });
    room.on('peerJoined', (peer) => {
      sender.send({ event: 'participant_joined', createdAt: Date.now(), roomId, participant: who(peer) });
      if (peer.analysed) sender.send({ event: 'analysis_started', createdAt: Date.now(), roomId, participant: who(peer) });
    });
    room.on('analysisChanged', (peer) =>
      sender.send({ event: peer.analysed ? 'analysis_started' : 'analysis_stopped', createdAt: Date.now(), roomId, participant: who(peer) }),
    );
    room.on('peerLeft', (peer) => sender.send({ event: 'participant_left', createdAt: Date.now(), roomId, participant: who(peer) }));
    room.once('closed', () => {
      // What changed in its last moments goes first.
      flush(roomId);
      batcher.forgetRoom(roomId);
      sender.send({ event: 'room_finished', createdAt: Date.now(), roomId });
    });
  });
  const flush = (onlyRoom?: string) => {
    for (const [roomId, faces] of batcher.flush(onlyRoom)) sender.send({ event: 'affect', createdAt: Date.now(), roomId, faces });
  };
  const timer = options.affectIntervalMs > 0 ? setInterval(flush, options.affectIntervalMs) : undefined;
  return {
    /** Every affect event published (only changes go out, batched). */
    onAffect(event: AffectStreamEvent): void {
      if (timer) batcher.add(event);
    },
    close(): void {
      clearInterval(timer);
    },
  };
}
