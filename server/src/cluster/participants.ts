import { ParticipantUpdateSchema, type ParticipantUpdate } from '../../../protocol/affect-subscriber.ts';
import { createLogger } from '../log.ts';
import { redisKeys } from './keys.ts';
import type { RedisLink } from './redisLink.ts';

const log = createLogger('cluster');

/**
 * A room's participant list lives with its node; a subscriber on another node learns it here when it
 * subscribes (later changes reach it through socket.io's adapter like the events). The hash expires a while
 * after its last write, so a dead node's rooms do not stay listed for ever; a live room's node rewrites it
 * on every join, leave and consent change.
 */
const PARTICIPANTS_TTL_S = 24 * 3600;

export class ParticipantsDirectory {
  constructor(private readonly redis: RedisLink) {}

  /** Records a change (best effort: while Redis is away, other nodes' subscribers see the change live only). */
  record(update: ParticipantUpdate): void {
    const key = redisKeys.participants(update.roomId);
    const write = update.present
      ? this.redis.client.multi().hSet(key, update.peerId, JSON.stringify(update)).expire(key, PARTICIPANTS_TTL_S).exec()
      : this.redis.client.hDel(key, update.peerId);
    write.catch((error: Error) => log.debug('participant not recorded', { roomId: update.roomId, error: error.message }));
  }

  /** A closed room's list. */
  forget(roomId: string): void {
    this.redis.client.del(redisKeys.participants(roomId)).catch(() => {});
  }

  /** Who is in a room, as its node last recorded; none while Redis is away. Entries that fail the schema are skipped. */
  async list(roomId: string): Promise<ParticipantUpdate[]> {
    let entries: Record<string, string>;
    try {
      entries = await this.redis.client.hGetAll(redisKeys.participants(roomId));
    } catch {
      return [];
    }
    return Object.values(entries).flatMap((json) => {
      try {
        const parsed = ParticipantUpdateSchema.safeParse(JSON.parse(json));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
  }
}
