import type { IncomingMessage } from 'node:http';

/** The token of an `Authorization: Bearer <token>` header, if it has one. */
export function bearerToken(req: IncomingMessage): string | undefined {
  return /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
}

/** The request body's media type, lower case, without its parameters (`application/sdp`, `application/json`). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** A URL path segment decoded; one that does not decode (a stray %) as it is, for the validation to refuse. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
