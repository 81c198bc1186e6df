/**
 * Prints a token signed with TOKEN_SECRET (the same secret the server runs with), for the calling
 * application to hand to a participant, or for a service that reads the affect stream:
 *   TOKEN_SECRET=... npm run token -- participant --room demo --identity alice [--name Alice]
 *                                     [--no-publish] [--no-affect] [--no-analysis] [--ttl 3600]
 *   TOKEN_SECRET=... npm run token -- subscriber --room demo [--peer <peer id>] [--ttl 3600]
 *   TOKEN_SECRET=... npm run token -- ingest --room demo [--identity <who adds sources>] [--ttl 3600]
 * The call page takes a participant token in its address: http://host:3000/#token=<token>
 */
import { parseArgs } from 'node:util';
import { signIngestToken, signParticipantToken, signSubscriberToken, tokenKey } from '../auth/tokens.ts';
import { loadConfig } from '../config.ts';

const USAGE = `usage: TOKEN_SECRET=<the server's secret> npm run token -- participant --room <room> --identity <id> [--name <display name>] [--no-publish] [--no-affect] [--no-analysis] [--ttl <seconds>]
       TOKEN_SECRET=<the server's secret> npm run token -- subscriber --room <room> [--peer <peer id>] [--ttl <seconds>]
       TOKEN_SECRET=<the server's secret> npm run token -- ingest --room <room> [--identity <who adds sources>] [--ttl <seconds>]`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  allowNegative: true,
  options: {
    room: { type: 'string' },
    identity: { type: 'string' },
    name: { type: 'string' },
    peer: { type: 'string' },
    publish: { type: 'boolean', default: true },
    affect: { type: 'boolean', default: true },
    analysis: { type: 'boolean', default: true },
    ttl: { type: 'string', default: '3600' },
  },
});
const secret = loadConfig().auth.tokenSecret;
const ttlSeconds = Number(values.ttl);
const [kind] = positionals;
const { room, identity } = values;
if (!secret || !room || !(Number.isInteger(ttlSeconds) && ttlSeconds > 0) || !(kind === 'subscriber' || kind === 'ingest' || (kind === 'participant' && identity))) {
  console.error(USAGE);
  process.exit(2);
}
const key = tokenKey(secret);
const token =
  kind === 'participant'
    ? await signParticipantToken(
        {
          sub: identity!,
          room,
          ...(values.name === undefined ? {} : { name: values.name }),
          grants: { join: true, publish: values.publish, subscribeAffect: values.affect, analysed: values.analysis },
        },
        key,
        ttlSeconds,
      )
    : kind === 'ingest'
      ? await signIngestToken({ room, ...(identity === undefined ? {} : { sub: identity }) }, key, ttlSeconds)
      : await signSubscriberToken({ room, ...(values.peer === undefined ? {} : { peer: values.peer }) }, key, ttlSeconds);
console.log(token);
