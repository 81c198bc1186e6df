/**
 * Every Redis key this service writes, in one place, under one prefix (the Redis may serve other things).
 * Room ids are validated by RoomIdSchema (protocol/roomId.ts): they cannot contain a key separator trick
 * that reaches another room's keys.
 */
const PREFIX = 'affect-call';

export const redisKeys = {
  /** Hash peerId -> ParticipantUpdate JSON: who is in a room, for subscribers on nodes other than the room's. */
  participants: (roomId: string) => `${PREFIX}:room:${roomId}:participants`,
  /** Stream of a room's affect events (the durable history). */
  affectStream: (roomId: string) => `${PREFIX}:room:${roomId}:affect`,
  /** String: the id of the node a room lives on (placement), with a TTL its node keeps refreshing. */
  roomNode: (roomId: string) => `${PREFIX}:room:${roomId}:node`,
  /** String: a node's description (JSON), with a TTL its heartbeat refreshes: gone when the node is. */
  node: (nodeId: string) => `${PREFIX}:node:${nodeId}`,
  /** Set of node ids that announced themselves (entries whose node key expired are dead nodes). */
  nodes: `${PREFIX}:nodes`,
} as const;
