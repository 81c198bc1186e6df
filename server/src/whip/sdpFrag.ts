import type { types } from 'mediasoup';
import { candidateLines } from './answer.ts';
import { badSdp } from './refusal.ts';

/** The media type of a PATCH body (RFC 8840). */
export const SDPFRAG_TYPE = 'application/trickle-ice-sdpfrag';

/**
 * The client's ICE credentials in a PATCH body (RFC 8840 SDP fragment), if it has them: new ones ask for an
 * ICE restart (RFC 9725 4.4). Its candidates are not read: the server is ICE-lite and finds the client's
 * addresses from the checks the client sends.
 */
export function sdpFragIce(fragment: string): { usernameFragment: string; password: string } | undefined {
  let ufrag: string | undefined;
  let pwd: string | undefined;
  for (const [index, line] of fragment.split(/\r?\n/).entries()) {
    if (line === '') continue;
    if (!/^[a-z]=/.test(line)) throw badSdp(`line ${index + 1} of the fragment is not type=value`);
    const match = /^a=ice-(ufrag|pwd):(.*)$/.exec(line);
    if (!match) continue;
    if (!/^[A-Za-z0-9+/]{1,256}$/.test(match[2]!)) throw badSdp(`line ${index + 1}: a=ice-${match[1]} is not 1-256 ICE characters`);
    if (match[1] === 'ufrag') ufrag = match[2];
    else pwd = match[2];
  }
  if ((ufrag === undefined) !== (pwd === undefined)) throw badSdp('a=ice-ufrag and a=ice-pwd go together');
  return ufrag === undefined ? undefined : { usernameFragment: ufrag, password: pwd! };
}

/** The server's side after an ICE restart: its new credentials and its candidates, for the first media section. */
export function restartFragment(ice: types.IceParameters, candidates: types.IceCandidate[], mid: string | undefined): string {
  return `${[
    'a=ice-lite',
    `a=ice-ufrag:${ice.usernameFragment}`,
    `a=ice-pwd:${ice.password}`,
    'm=video 9 UDP/TLS/RTP/SAVPF 0',
    ...(mid !== undefined ? [`a=mid:${mid}`] : []),
    ...candidateLines(candidates),
    'a=end-of-candidates',
  ].join('\r\n')}\r\n`;
}
