import { errors, jwtVerify, SignJWT } from 'jose';
import type { z } from 'zod';
import {
  INGEST_AUDIENCE,
  IngestClaimsSchema,
  PARTICIPANT_AUDIENCE,
  ParticipantClaimsSchema,
  SUBSCRIBER_AUDIENCE,
  SubscriberClaimsSchema,
  type IngestClaims,
  type ParticipantClaims,
  type SubscriberClaims,
} from '../../../protocol/tokens.ts';

/**
 * Signing and checking every kind of token (protocol/tokens.ts) with jose: a token from any standard JWT
 * library with the documented claims is accepted. Only HS256: the header cannot choose the algorithm.
 */
const ALGORITHM = 'HS256';
/** Clocks of the minting service and this server may disagree by this much (exp and nbf). */
export const CLOCK_TOLERANCE_S = 5;
const MAX_TOKEN_LENGTH = 4096;

class TokenError extends Error {
  override name = 'TokenError';
}

/** The HMAC key made from a TOKEN_SECRET, once. */
export type TokenKey = Uint8Array;
export const tokenKey = (secret: string): TokenKey => new TextEncoder().encode(secret);

/** Claims of a token to sign: `aud` is set by the kind, `exp` from `ttlSeconds`. */
export type Unsigned<C extends { aud: string; exp: number }> = Omit<C, 'aud' | 'exp'>;

export function signParticipantToken(claims: Unsigned<ParticipantClaims>, key: TokenKey, ttlSeconds: number): Promise<string> {
  return sign({ ...claims, aud: PARTICIPANT_AUDIENCE }, key, ttlSeconds);
}

export function signSubscriberToken(claims: Unsigned<SubscriberClaims>, key: TokenKey, ttlSeconds: number): Promise<string> {
  return sign({ ...claims, aud: SUBSCRIBER_AUDIENCE }, key, ttlSeconds);
}

export function signIngestToken(claims: Unsigned<IngestClaims>, key: TokenKey, ttlSeconds: number): Promise<string> {
  return sign({ ...claims, aud: INGEST_AUDIENCE }, key, ttlSeconds);
}

export function verifyParticipantToken(token: unknown, key: TokenKey, now = new Date()): Promise<ParticipantClaims> {
  return verify(token, key, PARTICIPANT_AUDIENCE, ParticipantClaimsSchema, now);
}

export function verifySubscriberToken(token: unknown, key: TokenKey, now = new Date()): Promise<SubscriberClaims> {
  return verify(token, key, SUBSCRIBER_AUDIENCE, SubscriberClaimsSchema, now);
}

export function verifyIngestToken(token: unknown, key: TokenKey, now = new Date()): Promise<IngestClaims> {
  return verify(token, key, INGEST_AUDIENCE, IngestClaimsSchema, now);
}

function sign(claims: Record<string, unknown>, key: TokenKey, ttlSeconds: number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(key);
}

async function verify<S extends z.ZodType>(token: unknown, key: TokenKey, audience: string, schema: S, now: Date): Promise<z.infer<S>> {
  if (typeof token !== 'string' || token === '') throw new TokenError('no token');
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenError('token too long');
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      audience,
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: now,
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    throw new TokenError(describe(error));
  }
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new TokenError(`token claims: ${problems}`);
  }
  return parsed.data;
}

/** What is wrong with a token, in words that say how to fix it and nothing about the verifier. */
function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (error instanceof errors.JOSEAlgNotAllowed) return `unsupported algorithm (${ALGORITHM} expected)`;
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not yet valid';
    if (error.claim === 'aud') return 'wrong kind of token (aud)';
    return `token claim ${error.claim} is invalid`;
  }
  return 'malformed token';
}
