import { describe, expect, it } from 'vitest';
import {
  signIngestToken,
  signParticipantToken,
  signSubscriberToken,
  tokenKey,
  verifyIngestToken,
  verifyParticipantToken,
  verifySubscriberToken,
} from '../../server/src/auth/tokens.ts';

const key = tokenKey('a-secret-of-enough-length-for-hs256!');

describe('ingest tokens', () => {
  it('carry a room and an optional identity, and are never taken for another kind (or another kind for them)', async () => {
    const ingest = await signIngestToken({ room: 'lobby', sub: 'camera-service' }, key, 60);
    expect(await verifyIngestToken(ingest, key)).toMatchObject({ aud: 'ingest', room: 'lobby', sub: 'camera-service' });
    await expect(verifyParticipantToken(ingest, key)).rejects.toThrow('wrong kind of token (aud)');
    await expect(verifySubscriberToken(ingest, key)).rejects.toThrow('wrong kind of token (aud)');
    const subscriber = await signSubscriberToken({ room: 'lobby' }, key, 60);
    const participant = await signParticipantToken({ sub: 'a', room: 'lobby', grants: { join: true, publish: true, subscribeAffect: true, analysed: true } }, key, 60);
    await expect(verifyIngestToken(subscriber, key)).rejects.toThrow('wrong kind of token (aud)');
    await expect(verifyIngestToken(participant, key)).rejects.toThrow('wrong kind of token (aud)');
    await expect(verifyIngestToken(ingest, tokenKey('another-secret-of-enough-length-for-it'))).rejects.toThrow('bad signature');
    await expect(verifyIngestToken(undefined, key)).rejects.toThrow('no token');
  });
});
