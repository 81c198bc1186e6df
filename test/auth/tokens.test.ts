import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  CLOCK_TOLERANCE_S,
  signParticipantToken,
  signSubscriberToken,
  tokenKey,
  verifyParticipantToken,
  verifySubscriberToken,
} from '../../server/src/auth/tokens.ts';

const SECRET = 'a-secret-of-enough-length-for-hs256!';
const key = tokenKey(SECRET);
const now = () => Math.floor(Date.now() / 1000);

/** An HS256 JWT made without jose, header keys in another order: what any JWT library may produce. */
function handMade(payload: object, secret = SECRET, header: object = { typ: 'JWT', alg: 'HS256' }): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const signingInput = `${encode(header)}.${encode(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

describe('participant tokens', () => {
  it('accepts a token made with jose directly, carrying the documented claims', async () => {
    const token = await new SignJWT({ room: 'r1', name: 'Alice', grants: { join: true, publish: true } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice@example')
      .setAudience('call')
      .setExpirationTime('10m')
      .sign(key);
    expect(await verifyParticipantToken(token, key)).toMatchObject({
      aud: 'call',
      sub: 'alice@example',
      room: 'r1',
      name: 'Alice',
      // Grants not given are refused.
      grants: { join: true, publish: true, subscribeAffect: false, analysed: false },
    });
  });

  it('accepts a hand-signed HS256 JWT whatever its header looks like', async () => {
    const token = handMade({ aud: 'call', sub: 'bob', room: 'r1', exp: now() + 60 });
    expect((await verifyParticipantToken(token, key)).grants).toEqual({ join: false, publish: false, subscribeAffect: false, analysed: false });
  });

  it('round-trips what the server signs', async () => {
    const grants = { join: true, publish: false, subscribeAffect: true, analysed: false };
    const token = await signParticipantToken({ sub: 'carol', room: 'r2', grants }, key, 60);
    expect(await verifyParticipantToken(token, key)).toMatchObject({ sub: 'carol', room: 'r2', grants });
  });

  it('honours exp and nbf within the clock tolerance, and not beyond it', async () => {
    const within = handMade({ aud: 'call', sub: 'x', room: 'r', exp: now() - CLOCK_TOLERANCE_S + 2, nbf: now() + CLOCK_TOLERANCE_S - 2 });
    await expect(verifyParticipantToken(within, key)).resolves.toMatchObject({ sub: 'x' });
    const expired = handMade({ aud: 'call', sub: 'x', room: 'r', exp: now() - CLOCK_TOLERANCE_S - 2 });
    await expect(verifyParticipantToken(expired, key)).rejects.toThrow('token expired');
    const early = handMade({ aud: 'call', sub: 'x', room: 'r', exp: now() + 600, nbf: now() + CLOCK_TOLERANCE_S + 30 });
    await expect(verifyParticipantToken(early, key)).rejects.toThrow('not yet valid');
  });

  it('refuses tokens without exp, for another audience, with other algorithms, forged or malformed', async () => {
    await expect(verifyParticipantToken(handMade({ aud: 'call', sub: 'x', room: 'r' }), key)).rejects.toThrow('exp');
    const subscriber = await signSubscriberToken({ room: 'r' }, key, 60);
    await expect(verifyParticipantToken(subscriber, key)).rejects.toThrow('wrong kind of token');
    const claims = { aud: 'call', sub: 'x', room: 'r', exp: now() + 60 };
    await expect(verifyParticipantToken(handMade(claims, 'another-secret-entirely-0123456789'), key)).rejects.toThrow('bad signature');
    const none = handMade(claims, SECRET, { alg: 'none' }).split('.').slice(0, 2).join('.') + '.';
    await expect(verifyParticipantToken(none, key)).rejects.toThrow('unsupported algorithm');
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).sign(key);
    await expect(verifyParticipantToken(hs512, key)).rejects.toThrow('unsupported algorithm');
    const [header, , signature] = handMade(claims).split('.');
    const widened = Buffer.from(JSON.stringify({ ...claims, room: 'r2' })).toString('base64url');
    await expect(verifyParticipantToken(`${header}.${widened}.${signature}`, key)).rejects.toThrow('bad signature');
    await expect(verifyParticipantToken(undefined, key)).rejects.toThrow('no token');
    await expect(verifyParticipantToken('a.b', key)).rejects.toThrow('malformed');
    await expect(verifyParticipantToken(handMade({ ...claims, room: 'no spaces' }), key)).rejects.toThrow('token claims: room');
  });
});

describe('subscriber tokens', () => {
  it('accepts a jose token with the documented claims, and refuses a participant token', async () => {
    const token = await new SignJWT({ room: 'r1', peer: 'p1' }).setProtectedHeader({ alg: 'HS256' }).setAudience('affect').setExpirationTime('1m').sign(key);
    expect(await verifySubscriberToken(token, key)).toMatchObject({ room: 'r1', peer: 'p1' });
    const participant = await signParticipantToken({ sub: 'x', room: 'r1', grants: { join: true, publish: true, subscribeAffect: true, analysed: true } }, key, 60);
    await expect(verifySubscriberToken(participant, key)).rejects.toThrow('wrong kind of token');
  });
});
