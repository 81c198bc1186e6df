import type { IncomingMessage, ServerResponse } from 'node:http';
import { RoomIdSchema } from '../../../protocol/roomId.ts';
import { CreateSourceRequestSchema, MAX_SOURCE_REQUEST_BYTES } from '../../../protocol/sources.ts';
import type { IngestClaims } from '../../../protocol/tokens.ts';
import { verifyIngestToken, type TokenKey } from '../auth/tokens.ts';
import { BodyError, readBody } from '../http/requestBody.ts';
import { bearerToken, decodePathSegment, mediaType } from '../http/requestParts.ts';
import { createLogger } from '../log.ts';
import { SourceRefusal, type Sources } from './Sources.ts';

const log = createLogger('ingest/http');
const PATH = /^\/rooms\/([^/]+)\/sources(?:\/([^/]+))?$/;
const SOURCE_ID = /^[0-9a-f-]{36}$/;

/**
 * `/rooms/:room/sources` with `Authorization: Bearer <ingest token for the room>`: `POST` a JSON
 * `{ url, name }` adds a pulled source (201, its listing, `Location`), `GET` lists the room's sources with
 * their state, `GET` or `DELETE` on `/rooms/:room/sources/:id` shows or stops one. Every refusal is JSON
 * `{ error }` saying why. Returns false for any other path.
 */
export function sourcesRoute(sources: Sources, tokenKey: TokenKey) {
  return (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    const match = PATH.exec(url.pathname);
    if (!match) return false;
    serve(req, res, match[1]!, match[2], sources, tokenKey).catch((error: unknown) => {
      if (error instanceof SourceRefusal) {
        send(res, error.status, { error: error.message }, error.headers);
        return;
      }
      log.error('source request failed', { error });
      send(res, 500, { error: 'internal error' });
    });
    return true;
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, rawRoom: string, id: string | undefined, sources: Sources, key: TokenKey): Promise<void> {
  const allowed = id === undefined ? 'GET, POST' : 'GET, DELETE';
  if (!allowed.split(', ').includes(req.method ?? '')) throw new SourceRefusal(405, `${req.method} is not allowed here (${allowed})`, { allow: allowed });
  const room = RoomIdSchema.safeParse(decodePathSegment(rawRoom));
  if (!room.success) throw new SourceRefusal(400, `bad room id: ${room.error.issues[0]?.message ?? 'invalid'}`);
  const claims = await authorize(req, key, room.data);
  if (id === undefined && req.method === 'GET') return send(res, 200, { sources: sources.list(room.data) });
  if (id === undefined) {
    const request = await readRequest(req);
    const info = await sources.add(room.data, request, claims.sub);
    return send(res, 201, info, { location: `/rooms/${room.data}/sources/${info.id}` });
  }
  const source = SOURCE_ID.test(id) ? sources.get(id) : undefined;
  if (!source || source.ids.roomId !== room.data) throw new SourceRefusal(404, `room ${room.data} has no source ${id.slice(0, 64)}`);
  if (req.method === 'GET') return send(res, 200, source.info);
  sources.remove(room.data, id);
  res.writeHead(204).end();
}

async function authorize(req: IncomingMessage, key: TokenKey, roomId: string): Promise<IngestClaims> {
  const bearer = bearerToken(req);
  if (bearer === undefined) throw new SourceRefusal(401, 'unauthorized: an ingest token is needed (Authorization: Bearer <token>)');
  let claims: IngestClaims;
  try {
    claims = await verifyIngestToken(bearer, key);
  } catch (error) {
    throw new SourceRefusal(401, `unauthorized: ${(error as Error).message}`);
  }
  if (claims.room !== roomId) throw new SourceRefusal(403, `this token is for room ${claims.room}, not ${roomId}`);
  return claims;
}

async function readRequest(req: IncomingMessage) {
  if (mediaType(req) !== 'application/json') {
    req.resume();
    throw new SourceRefusal(415, 'the body must be JSON (Content-Type: application/json)');
  }
  let text: string;
  try {
    text = await readBody(req, MAX_SOURCE_REQUEST_BYTES);
  } catch (error) {
    if (error instanceof BodyError) throw new SourceRefusal(error.status, error.message);
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SourceRefusal(400, 'the body is not JSON');
  }
  const parsed = CreateSourceRequestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
    throw new SourceRefusal(400, `bad request: ${problems} (expected { "url": "rtsp://...", "name": "..." })`);
  }
  return parsed.data;
}


function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
}
