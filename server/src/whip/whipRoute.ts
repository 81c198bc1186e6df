import type { IncomingMessage, ServerResponse } from 'node:http';
import type { types } from 'mediasoup';
import { RoomIdSchema } from '../../../protocol/roomId.ts';
import { accessOfToken, admit, requireGrant, type CallAccess } from '../auth/callAccess.ts';
import type { TokenKey } from '../auth/tokens.ts';
import type { Config } from '../config.ts';
import { RequestError } from '../errors.ts';
import { BodyError, readBody } from '../http/requestBody.ts';
import { bearerToken, decodePathSegment, mediaType } from '../http/requestParts.ts';
import { createLogger } from '../log.ts';
import { negotiate } from './negotiate.ts';
import { parseOffer } from './offer.ts';
import { WhipRefusal } from './refusal.ts';
import { SDPFRAG_TYPE, restartFragment, sdpFragIce } from './sdpFrag.ts';
import type { WhipSession, WhipSessions } from './WhipSessions.ts';

const log = createLogger('whip');
const PATH = /^\/whip\/([^/]+)(?:\/([^/]+))?$/;
const ENDPOINT_METHODS = 'POST, OPTIONS';
const SESSION_METHODS = 'PATCH, DELETE, OPTIONS';
const FORWARD_TIMEOUT_MS = 10_000;
/** A publisher names itself with ?name= only in open mode; a token fixes the name. */
const DEFAULT_NAME = 'WHIP publisher';

export interface WhipRouteOptions {
  sessions: WhipSessions;
  /** What every room's router speaks: offers are negotiated against it before anything is created. */
  capabilities: types.RtpCapabilities;
  authMode: Config['auth']['mode'];
  tokenKey: TokenKey;
  maxSdpBytes: number;
  maxDisplayNameLength: number;
  analysedByDefault: boolean;
}

/**
 * WHIP (RFC 9725): `POST /whip/:room` with an SDP offer and `Authorization: Bearer <participant token>`
 * answers 201 with the SDP answer, the session's Location and ETag; `DELETE` on the Location ends the session,
 * `PATCH` takes trickled candidates (not needed: the server is ICE-lite, 204) or an ICE restart (200 with the new
 * credentials); `OPTIONS` answers CORS preflights (the origin check in front of every route already refused
 * other sites' pages). Every refusal is a status with a text body that says why. Returns false for other paths.
 */
export function whipRoute(options: WhipRouteOptions) {
  return (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    const match = PATH.exec(url.pathname);
    if (!match) return false;
    if (req.headers.origin !== undefined) {
      res.setHeader('access-control-allow-origin', req.headers.origin);
      res.setHeader('access-control-expose-headers', 'Location, ETag, Accept-Patch, Retry-After');
      res.setHeader('vary', 'Origin');
    }
    const [, room, sessionId] = match as unknown as [string, string, string | undefined];
    serve(req, res, url, decodePathSegment(room), sessionId === undefined ? undefined : decodePathSegment(sessionId), options).catch((error: unknown) => {
      const refusal = refusalOf(error, url);
      if (refusal.status >= 500 && !(error instanceof WhipRefusal)) log.error('WHIP request failed', { error, stack: (error as Error | undefined)?.stack });
      else log.debug('WHIP request refused', { method: req.method, path: url.pathname, status: refusal.status, reason: refusal.message });
      if (res.headersSent) return void res.destroy();
      // A body not read yet (refused before it was) is drained, so that the client reads the answer.
      req.resume();
      res.writeHead(refusal.status, { 'content-type': 'text/plain; charset=utf-8', ...refusal.headers }).end(refusal.message);
    });
    return true;
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  room: string,
  sessionId: string | undefined,
  options: WhipRouteOptions,
): Promise<void> {
  const methods = sessionId === undefined ? ENDPOINT_METHODS : SESSION_METHODS;
  if (req.method === 'OPTIONS') {
    res.writeHead(204, {
      allow: methods,
      'access-control-allow-methods': methods,
      'access-control-allow-headers': 'Authorization, Content-Type, If-Match',
      'access-control-max-age': '600',
      ...(sessionId === undefined ? { 'accept-post': 'application/sdp' } : { 'accept-patch': SDPFRAG_TYPE }),
    });
    return void res.end();
  }
  if (!methods.split(', ').includes(req.method ?? '')) throw new WhipRefusal(405, `${req.method} is not served here; ${methods} are`, { allow: methods });
  const roomId = RoomIdSchema.safeParse(room);
  if (!roomId.success) throw new WhipRefusal(400, 'bad room id');
  const access = await authorise(req, options);
  if (sessionId === undefined) return publish(req, res, url, roomId.data, access, options);
  const session = options.sessions.get(sessionId);
  if (!session || session.room.id !== roomId.data) throw new WhipRefusal(404, 'no such WHIP session (it may have ended)');
  if (options.authMode === 'token' && (access.room !== roomId.data || access.identity !== session.identity)) {
    throw new WhipRefusal(403, 'this token is not the one of the session');
  }
  if (req.method === 'DELETE') {
    options.sessions.end(session.id, 'DELETE');
    return void res.writeHead(200).end();
  }
  return patch(req, res, session, options);
}

/**
 * `?analysis=on|off`: the publisher's own choice, as a call page's toggle is its participant's (a WHIP client has no
 * other way to opt in where ANALYSIS_DEFAULT=off); within the token's `analysed` grant either way. Absent: the default.
 */
function analysisChoice(url: URL, options: WhipRouteOptions): boolean {
  const choice = url.searchParams.get('analysis');
  if (choice === null) return options.analysedByDefault;
  if (choice !== 'on' && choice !== 'off') throw new WhipRefusal(400, `analysis must be on or off, not ${JSON.stringify(choice.slice(0, 16))}`);
  return choice === 'on';
}

async function publish(req: IncomingMessage, res: ServerResponse, url: URL, roomId: string, access: CallAccess, options: WhipRouteOptions): Promise<void> {
  if (mediaType(req) !== 'application/sdp') throw new WhipRefusal(415, 'the offer must be sent as Content-Type: application/sdp', { 'accept-post': 'application/sdp' });
  const spec = admit(access, roomId, url.searchParams.get('name') ?? DEFAULT_NAME, options.maxDisplayNameLength, analysisChoice(url, options));
  requireGrant(access, 'publish', 'sending media');
  const text = await body(req, options.maxSdpBytes);
  const offer = parseOffer(text);
  const sections = negotiate(offer, options.capabilities);
  let created;
  try {
    created = await options.sessions.publish({ roomId, spec, identity: access.identity, offer, sections });
  } catch (error) {
    // A browser cannot follow a 307 to another origin: it drops the token and sends `Origin: null`, which the room's
    // node refuses, and a page cannot even read where it was sent. Its offer is forwarded there instead.
    if (error instanceof RequestError && error.code === 'MOVED' && req.headers.origin !== undefined) {
      return forward(req, res, `${error.location}${url.pathname}${url.search}`, text);
    }
    throw error;
  }
  const { session, answer } = created;
  res
    .writeHead(201, {
      'content-type': 'application/sdp',
      location: `/whip/${encodeURIComponent(roomId)}/${session.id}`,
      etag: session.etag,
      'accept-patch': SDPFRAG_TYPE,
    })
    .end(answer);
}

/**
 * A browser's offer for a room of another node, posted there on its behalf with its token. This node checked the
 * page's origin; the forwarded POST carries none, as any server's request, so it is answered and never forwarded
 * again (two nodes that disagree about a room cannot pass it back and forth). The answer is passed back with its
 * Location made absolute: the session's PATCH and DELETE go to that node directly (from a page of another origin
 * when ALLOWED_ORIGINS there lists it, as the call page's own cross-node joins need). Media flows between the browser
 * and that node; only the POST takes the detour.
 */
async function forward(req: IncomingMessage, res: ServerResponse, target: string, offer: string): Promise<void> {
  const node = new URL(target).origin;
  let answer: Response;
  try {
    answer = await fetch(target, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      headers: {
        'content-type': 'application/sdp',
        ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }),
      },
      body: offer,
    });
  } catch (error) {
    throw new WhipRefusal(502, `this room lives on ${node}, which did not take the offer: ${(error as Error).message}`);
  }
  // That node sent it on again (the room moved meanwhile): the client may try again in a moment.
  if (answer.status >= 300 && answer.status < 400) throw new WhipRefusal(503, `this room is moving between nodes; try again`, { 'retry-after': '1' });
  const headers: Record<string, string> = { 'content-type': answer.headers.get('content-type') ?? 'text/plain; charset=utf-8' };
  const location = answer.headers.get('location');
  if (location !== null) headers.location = new URL(location, target).href;
  for (const name of ['etag', 'accept-patch', 'retry-after']) {
    const value = answer.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  log.info('WHIP offer forwarded to the room\'s node', { node, status: answer.status });
  res.writeHead(answer.status, headers).end(await answer.text());
}

/** Trickled candidates are taken and not needed; new client credentials restart ICE (RFC 9725 4.3, 4.4). */
async function patch(req: IncomingMessage, res: ServerResponse, session: WhipSession, options: WhipRouteOptions): Promise<void> {
  if (mediaType(req) !== SDPFRAG_TYPE) throw new WhipRefusal(415, `a PATCH must be sent as Content-Type: ${SDPFRAG_TYPE}`, { 'accept-patch': SDPFRAG_TYPE });
  const ifMatch = req.headers['if-match'];
  if (ifMatch === undefined) throw new WhipRefusal(428, 'a PATCH needs If-Match: the session\'s ETag, or * for an ICE restart');
  if (ifMatch !== '*' && ifMatch !== session.etag) throw new WhipRefusal(412, 'If-Match is not the session\'s ETag (an ICE restart changed it)');
  const clientIce = sdpFragIce(await body(req, options.maxSdpBytes));
  const restart =
    clientIce !== undefined &&
    (clientIce.usernameFragment !== session.clientIce?.usernameFragment || clientIce.password !== session.clientIce?.password);
  if (!restart) return void res.writeHead(204, { etag: session.etag }).end();
  const ice = await options.sessions.restartIce(session, clientIce);
  res
    .writeHead(200, { 'content-type': SDPFRAG_TYPE, etag: session.etag })
    .end(restartFragment(ice, session.transport.iceCandidates, session.bundleMid));
}

/** The bearer's access: a participant token under CALL_AUTH=token; everything in open mode (any token ignored). */
async function authorise(req: IncomingMessage, options: WhipRouteOptions): Promise<CallAccess> {
  try {
    return await accessOfToken(options.authMode, bearerToken(req), options.tokenKey);
  } catch (error) {
    throw new WhipRefusal(401, `unauthorized: ${(error as Error).message} (a participant token is expected)`, { 'www-authenticate': 'Bearer' });
  }
}

async function body(req: IncomingMessage, maxBytes: number): Promise<string> {
  try {
    return await readBody(req, maxBytes);
  } catch (error) {
    if (error instanceof BodyError) throw new WhipRefusal(error.status, error.message);
    throw error;
  }
}

/**
 * How the rooms' and peers' refusals read over HTTP (a room of another node: 307 to the same path and query
 * there, which a WHIP client follows with its POST; a browser's offer is forwarded there instead, see forward); anything else is our fault, said without its insides.
 */
function refusalOf(error: unknown, url: URL): WhipRefusal {
  if (error instanceof WhipRefusal) return error;
  if (error instanceof RequestError) {
    switch (error.code) {
      case 'MOVED':
        return new WhipRefusal(307, error.message, { location: `${error.location}${url.pathname}${url.search}` });
      case 'FORBIDDEN':
        return new WhipRefusal(403, error.message);
      case 'LIMIT_EXCEEDED':
        return new WhipRefusal(429, error.message, { 'retry-after': '10' });
      case 'NOT_FOUND':
        return new WhipRefusal(404, error.message);
      default:
        return new WhipRefusal(400, error.message);
    }
  }
  return new WhipRefusal(500, 'the WHIP session could not be set up');
}
