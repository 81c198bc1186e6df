import type { types } from 'mediasoup';
import { mediaCodecs } from './codecs.ts';
import type { WorkerPool } from './WorkerPool.ts';

/**
 * What every room's router speaks (each is made from mediaCodecs): read once from a router made for it and
 * closed at once, so that a publisher's offer can be negotiated before it joins a room.
 */
export async function routerCapabilities(pool: WorkerPool): Promise<types.RtpCapabilities> {
  const router = await pool.createRouter(mediaCodecs);
  try {
    return router.rtpCapabilities;
  } finally {
    router.close();
  }
}
