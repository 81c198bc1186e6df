import type { types } from 'mediasoup';
import type { AnswerSection } from './negotiate.ts';
import type { Offer } from './offer.ts';

/** What the server's side of the session says about itself: mediasoup's WebRtcTransport (ICE-lite). */
export interface LocalTransport {
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

/**
 * The DTLS role the client takes, as mediasoup's `connect` wants it: a client offering actpass or active is the
 * DTLS client and the server answers passive; one offering passive makes the server the DTLS client.
 */
export function clientDtlsRole(setup: Offer['setup']): types.DtlsRole {
  return setup === 'passive' ? 'server' : 'client';
}

/**
 * The SDP answer (JSEP, RFC 8829) to an offer negotiated into `sections`: ICE-lite, every accepted section
 * receive-only on the one BUNDLEd transport with its ICE credentials, fingerprint and candidates, each
 * declined one with port 0. `sessionId` is the o= line's (digits).
 */
export function writeAnswer(sections: AnswerSection[], offerSetup: Offer['setup'], transport: LocalTransport, sessionId: string): string {
  const accepted = sections.filter((s) => s.accepted);
  const fingerprint =
    transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0];
  if (!fingerprint) throw new Error('the transport has no DTLS fingerprint');
  const setup = clientDtlsRole(offerSetup) === 'client' ? 'passive' : 'active';
  const lines = [
    'v=0',
    `o=- ${sessionId} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=ice-lite',
    // An offer without mids has one section on the transport (negotiate), and nothing to group.
    ...(accepted.every((s) => s.mid !== undefined) ? [`a=group:BUNDLE ${accepted.map((s) => s.mid).join(' ')}`] : []),
  ];
  for (const section of sections) {
    if (!section.accepted) {
      lines.push(`m=${section.kind} 0 ${section.protocol} ${section.formats.join(' ')}`, 'c=IN IP4 0.0.0.0');
      if (section.mid !== undefined) lines.push(`a=mid:${section.mid}`);
      lines.push('a=inactive');
      continue;
    }
    const { rtpParameters } = section;
    lines.push(
      `m=${section.kind} 9 UDP/TLS/RTP/SAVPF ${rtpParameters.codecs.map((c) => c.payloadType).join(' ')}`,
      'c=IN IP4 0.0.0.0',
      ...(section.mid !== undefined ? [`a=mid:${section.mid}`] : []),
      'a=recvonly',
      `a=ice-ufrag:${transport.iceParameters.usernameFragment}`,
      `a=ice-pwd:${transport.iceParameters.password}`,
      `a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
      `a=setup:${setup}`,
      'a=rtcp-mux',
      ...(rtpParameters.rtcp?.reducedSize ? ['a=rtcp-rsize'] : []),
    );
    for (const codec of rtpParameters.codecs) {
      const name = codec.mimeType.split('/')[1];
      lines.push(`a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${codec.channels !== undefined ? `/${codec.channels}` : ''}`);
      for (const fb of codec.rtcpFeedback ?? []) lines.push(`a=rtcp-fb:${codec.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
      const fmtp = Object.entries(codec.parameters ?? {})
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(';');
      if (fmtp) lines.push(`a=fmtp:${codec.payloadType} ${fmtp}`);
    }
    for (const extension of rtpParameters.headerExtensions ?? []) lines.push(`a=extmap:${extension.id} ${extension.uri}`);
    lines.push(...candidateLines(transport.iceCandidates), 'a=end-of-candidates');
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function candidateLines(candidates: types.IceCandidate[]): string[] {
  return candidates.map(
    (c) =>
      `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}${c.tcpType ? ` tcptype ${c.tcpType}` : ''}`,
  );
}
