import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signSubscriberToken, verifySubscriberToken } from '../../server/src/events/tokens.ts';

const SECRET = 'a-secret-of-enough-length';
const NOW = 1_800_000_000_000;
const exp = NOW / 1000 + 60;

describe('subscriber tokens (HS256 JWT)', () => {
  it('round-trips claims and matches a JWT signed by hand', () => {
    const token = signSubscriberToken({ room: 'r1', peer: 'p1', exp }, SECRET);
    expect(verifySubscriberToken(token, SECRET, NOW)).toEqual({ room: 'r1', peer: 'p1', exp });
    const [header, payload, sig] = token.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(sig).toBe(createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url'));
  });

  it('refuses wrong secrets, tampering, expiry, other algorithms and junk', () => {
    const token = signSubscriberToken({ room: 'r1', exp }, SECRET);
    expect(() => verifySubscriberToken(token, 'another-secret-entirely', NOW)).toThrow('bad signature');
    const [h, , s] = token.split('.');
    const widened = Buffer.from(JSON.stringify({ room: 'r2', exp })).toString('base64url');
    expect(() => verifySubscriberToken(`${h}.${widened}.${s}`, SECRET, NOW)).toThrow('bad signature');
    expect(() => verifySubscriberToken(token, SECRET, exp * 1000)).toThrow('expired');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(() => verifySubscriberToken(`${none}.${token.split('.')[1]}.`, SECRET, NOW)).toThrow('unsupported');
    expect(() => verifySubscriberToken(undefined, SECRET, NOW)).toThrow('no token');
    expect(() => verifySubscriberToken('a.b', SECRET, NOW)).toThrow('malformed');
    const noRoom = signSubscriberToken({ room: 'bad room', exp }, SECRET);
    expect(() => verifySubscriberToken(noRoom, SECRET, NOW)).toThrow('claims');
  });
});
