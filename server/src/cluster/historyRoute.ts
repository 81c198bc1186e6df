import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HISTORY_CONTENT_TYPE, HistoryQuerySchema } from '../../../protocol/affect-history.ts';
import { RoomIdSchema } from '../../../protocol/roomId.ts';
import type { SubscriberClaims } from '../../../protocol/tokens.ts';
import { verifySubscriberToken, type TokenKey } from '../auth/tokens.ts';
import { bearerToken, decodePathSegment } from '../http/requestParts.ts';
import { createLogger } from '../log.ts';
import type { AffectHistory } from './affectHistory.ts';

const log = createLogger('history');
const PATH = /^\/rooms\/([^/]+)\/affect$/;

export interface HistoryRouteOptions {
  tokenKey: TokenKey;
  /** Undefined on a single node: the route answers 501. */
  history: Pick<AffectHistory, 'read'> | undefined;
  /** Event lines one request returns at most (a client pages on with `after`). */
  maxEvents: number;
  /** Whether the participant a dashboard token was handed to is still in the call (as on /affect). */
  participantPresent: (roomId: string, peerId: string) => boolean | Promise<boolean>;
}

/**
 * `GET /rooms/:room/affect?since=&until=&after=&peer=&limit=` with `Authorization: Bearer <subscriber token>`:
 * the room's history as JSON Lines (protocol/affect-history.ts), written as Redis is read, a page at a time,
 * waiting for the client to take each (a slow reader holds one page in memory, not the history). Returns
 * false for any other path.
 */
export function historyRoute(options: HistoryRouteOptions) {
  return (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    const match = PATH.exec(url.pathname);
    if (!match) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    serve(req, res, url, decodePathSegment(match[1]!), options).catch((error: Error) => {
      log.warn('history request failed', { error: error.message });
      if (!res.headersSent) res.writeHead(503, { 'content-type': 'text/plain' }).end('history unavailable');
      else res.destroy();
    });
    return true;
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, url: URL, room: string, options: HistoryRouteOptions): Promise<void> {
  const fail = (status: number, message: string) => res.writeHead(status, { 'content-type': 'text/plain' }).end(message);
  const roomId = RoomIdSchema.safeParse(room);
  const query = HistoryQuerySchema.safeParse(Object.fromEntries(url.searchParams));
  if (!roomId.success || !query.success) return void fail(400, 'bad room or query (since, until, after, peer, limit)');
  let claims: SubscriberClaims;
  try {
    claims = await verifySubscriberToken(bearerToken(req), options.tokenKey);
  } catch (error) {
    return void fail(401, `unauthorized: ${(error as Error).message}`);
  }
  if (claims.participant !== undefined && !(await options.participantPresent(claims.room, claims.participant))) {
    return void fail(401, 'unauthorized: the participant this token was issued to has left');
  }
  const peerId = claims.peer ?? query.data.peer;
  if (claims.room !== roomId.data || (claims.peer !== undefined && query.data.peer !== undefined && query.data.peer !== claims.peer)) {
    return void fail(403, 'this token does not grant that room or peer');
  }
  if (!options.history) return void fail(501, 'no history on a single node: it needs REDIS_URL');
  const limit = Math.min(query.data.limit ?? options.maxEvents, options.maxEvents);
  const lines = options.history.read(roomId.data, { ...query.data, peerId, limit });
  // The first page is read before the status is sent: Redis being away is a 503, not a cut-off 200.
  const first = await lines.next();
  res.writeHead(200, { 'content-type': HISTORY_CONTENT_TYPE, 'cache-control': 'no-store' });
  if (req.method === 'HEAD') return void res.end();
  for (let line = first; !line.done; line = await lines.next()) {
    if (res.destroyed) return void (await lines.return(undefined));
    if (!res.write(`${JSON.stringify(line.value)}\n`)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
  res.end();
}
