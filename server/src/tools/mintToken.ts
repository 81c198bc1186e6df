/**
 * Prints a subscriber token for the affect event stream, signed with AFFECT_TOKEN_SECRET (the same
 * secret the server runs with), for a service that subscribes from elsewhere.
 *   AFFECT_TOKEN_SECRET=... npm run token -- --room demo [--peer <peer id>] [--ttl 3600]
 */
import { parseArgs } from 'node:util';
import type { SubscriberClaims } from '../../../protocol/affect-subscriber.ts';
import { loadConfig } from '../config.ts';
import { signSubscriberToken } from '../events/tokens.ts';

const { values } = parseArgs({
  options: { room: { type: 'string' }, peer: { type: 'string' }, ttl: { type: 'string', default: '3600' } },
});
const secret = loadConfig().events.tokenSecret;
const ttlSeconds = Number(values.ttl);
if (!secret || !values.room || !(Number.isInteger(ttlSeconds) && ttlSeconds > 0)) {
  console.error('usage: AFFECT_TOKEN_SECRET=<the server\'s secret> npm run token -- --room <room> [--peer <peer id>] [--ttl <seconds>]');
  process.exit(2);
}
const claims: SubscriberClaims = { room: values.room, exp: Math.floor(Date.now() / 1000) + ttlSeconds };
if (values.peer) claims.peer = values.peer;
console.log(signSubscriberToken(claims, secret));
