import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { RoomIdSchema } from '../../../protocol/signaling.ts';
import type { SubscriberClaims } from '../../../protocol/affect-subscriber.ts';

/**
 * Subscriber tokens are JWTs signed with HS256 (RFC 7519), so any service holding the secret can mint
 * them with a standard library. Only HS256 is accepted: the header cannot choose the algorithm.
 */
const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

const ClaimsSchema = z.object({
  room: RoomIdSchema,
  peer: z.string().min(1).max(64).optional(),
  exp: z.number().int().positive(),
});

export class TokenError extends Error {
  override name = 'TokenError';
}

export function signSubscriberToken(claims: SubscriberClaims, secret: string): string {
  const payload = base64url(JSON.stringify(claims));
  return `${HEADER}.${payload}.${signature(`${HEADER}.${payload}`, secret)}`;
}

export function verifySubscriberToken(token: unknown, secret: string, nowMs = Date.now()): SubscriberClaims {
  if (typeof token !== 'string' || token.length > 4096) throw new TokenError('no token');
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('malformed token');
  const [header, payload, sig] = parts as [string, string, string];
  if (header !== HEADER) throw new TokenError('unsupported token header (HS256 JWT expected)');
  const expected = Buffer.from(signature(`${header}.${payload}`, secret));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenError('bad signature');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('malformed token payload');
  }
  const parsed = ClaimsSchema.safeParse(claims);
  if (!parsed.success) throw new TokenError('token claims must be { room, peer?, exp }');
  if (parsed.data.exp * 1000 <= nowMs) throw new TokenError('token expired');
  return parsed.data;
}

function signature(data: string, secret: string): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
