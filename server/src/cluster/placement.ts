import { z } from 'zod';

/** What a node says about itself in Redis, refreshed by its heartbeat (the key expires with the node). */
export const NodeInfoSchema = z.object({
  id: z.string().min(1).max(200),
  /** Where browsers and services reach it (PUBLIC_URL). */
  url: z.string().min(1).max(2000),
  rooms: z.int().nonnegative(),
  peers: z.int().nonnegative(),
  /** 0..1: the fullest of its capacities (rooms, taps, subscribers). */
  load: z.number().min(0),
  /** Shutting down: takes no new rooms. */
  draining: z.boolean(),
  startedAt: z.number(),
});
export type NodeInfo = z.infer<typeof NodeInfoSchema>;

/** Where a join for a room not on this node goes. */
export type Placement = { here: true } | { here: false; url: string } | { here: false; refused: string };

/**
 * The decision, without Redis: `owner` is the node the directory names for the room (undefined: none, or
 * its lease expired), `ownerInfo` that node's heartbeat (undefined: it is dead). A live owner keeps its room;
 * a room without a live owner is created here, unless this node drains: then on the least-loaded live node
 * that does not (it claims the room when the participant arrives).
 */
export function decidePlacement(self: string, draining: boolean, owner: string | undefined, ownerInfo: NodeInfo | undefined, others: NodeInfo[]): Placement {
  if (owner !== undefined && owner !== self && ownerInfo && !ownerInfo.draining) return { here: false, url: ownerInfo.url };
  if (!draining) return { here: true };
  const target = leastLoaded(others.filter((node) => node.id !== self && !node.draining));
  return target ? { here: false, url: target.url } : { here: false, refused: 'this node is shutting down and no other node takes rooms' };
}

export function leastLoaded(nodes: NodeInfo[]): NodeInfo | undefined {
  return [...nodes].sort((a, b) => a.load - b.load || a.rooms - b.rooms || a.id.localeCompare(b.id))[0];
}
