import { readFileSync } from 'node:fs';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaCodecs } from '../../server/src/sfu/codecs.ts';
import { clientDtlsRole, writeAnswer } from '../../server/src/whip/answer.ts';
import { isConstrainedBaseline, negotiate, type AcceptedSection, type AnswerSection } from '../../server/src/whip/negotiate.ts';
import { MAX_MEDIA_SECTIONS, parseOffer } from '../../server/src/whip/offer.ts';
import { WhipRefusal } from '../../server/src/whip/refusal.ts';
import { restartFragment, sdpFragIce } from '../../server/src/whip/sdpFrag.ts';

/** An offer Chromium made (audio and video, sendonly, max-bundle): see test/whip/fixtures. */
const CHROMIUM = readFileSync(new URL('fixtures/chromium-offer.sdp', import.meta.url), 'utf8');
const FINGERPRINT = 'AE:F4:B6:4C:A3:81:FC:D5:2C:C5:C4:81:01:38:99:ED:D6:A2:F9:CF:14:98:46:1C:22:96:31:B2:0C:3B:48:58';

/** A one-section video offer with `codecLines` (rtpmap, fmtp, rtcp-fb ...) for payload types `pts`. */
function videoOffer(pts: string, codecLines: string[], extra: string[] = ['a=ssrc:1111 cname:obs']): string {
  return [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    `m=video 9 UDP/TLS/RTP/SAVPF ${pts}`,
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    `a=fingerprint:sha-256 ${FINGERPRINT}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sendonly',
    'a=rtcp-mux',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    ...codecLines,
    ...extra,
    '',
  ].join('\r\n');
}

/**
 * An offer shaped like those of OBS Studio's WHIP output (libdatachannel): ICE and DTLS at session level, SSRCs,
 * no header extensions, no retransmissions, H.264 only. Written for this test, not captured from OBS.
 */
const OBS_LIKE = [
  'v=0',
  'o=rtc 2890844526 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=msid-semantic:WMS *',
  'a=setup:actpass',
  'a=ice-ufrag:obsU',
  'a=ice-pwd:obspassword0123456789ab',
  'a=ice-options:ice2,trickle',
  `a=fingerprint:sha-256 ${FINGERPRINT}`,
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendonly',
  'a=ssrc:1001 cname:obs',
  'a=ssrc:1001 msid:obs obs-audio',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=sendonly',
  'a=ssrc:1002 cname:obs',
  'a=ssrc:1002 msid:obs obs-video',
  'a=rtcp-mux',
  'a=rtpmap:96 H264/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtcp-fb:96 goog-remb',
  'a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
  '',
].join('\r\n');

let worker: types.Worker;
let router: types.Router;
let capabilities: types.RtpCapabilities;

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'error' });
  router = await worker.createRouter({ mediaCodecs });
  capabilities = router.rtpCapabilities;
});

afterAll(() => worker?.close());

const accepted = (sections: AnswerSection[]) => sections.filter((s): s is AcceptedSection => s.accepted);

function refusal(run: () => unknown): WhipRefusal {
  try {
    run();
  } catch (error) {
    if (error instanceof WhipRefusal) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('parseOffer', () => {
  it("reads Chromium's offer: DTLS, ICE, BUNDLE, codecs with their parameters and feedback, SSRCs", () => {
    const offer = parseOffer(CHROMIUM);
    expect(offer.fingerprints).toEqual([{ algorithm: 'sha-256', value: FINGERPRINT }]);
    expect(offer.setup).toBe('actpass');
    expect(offer.ice).toEqual({ usernameFragment: 'NhqG', password: '0UbxuDMt0jKOVra11zorVyZt' });
    expect(offer.bundle).toEqual(['0', '1']);
    const [audio, video] = offer.media;
    expect(audio).toMatchObject({ kind: 'audio', mid: '0', direction: 'sendonly', rtcpMux: true, rtcpReducedSize: true });
    expect(audio!.codecs[0]).toEqual({
      payloadType: 111,
      name: 'opus',
      clockRate: 48000,
      channels: 2,
      parameters: { minptime: 10, useinbandfec: 1 },
      rtcpFeedback: [{ type: 'transport-cc' }],
    });
    expect(video!.codecs.find((c) => c.payloadType === 97)?.parameters).toEqual({ apt: 96 });
    // A profile stays text, a mode is a number (mediasoup compares them so).
    expect(video!.codecs.find((c) => c.payloadType === 108)?.parameters).toEqual({
      'level-asymmetry-allowed': 1,
      'packetization-mode': 1,
      'profile-level-id': '42e01f',
    });
    expect(video!.codecs.find((c) => c.payloadType === 96)?.rtcpFeedback).toContainEqual({ type: 'nack', parameter: 'pli' });
    expect(video!.ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: [expect.any(Number), expect.any(Number)] }]);
  });

  it('takes a=fmtp and a=rtcp-fb written before their a=rtpmap (as Firefox writes them), and LF line ends', () => {
    const offer = parseOffer(
      videoOffer('120 124', ['a=fmtp:124 apt=120', 'a=rtcp-fb:120 nack pli', 'a=rtcp-fb:* ccm fir', 'a=rtpmap:120 VP8/90000', 'a=rtpmap:124 rtx/90000']).replace(
        /\r\n/g,
        '\n',
      ),
    );
    expect(offer.media[0]!.codecs).toEqual([
      { payloadType: 120, name: 'VP8', clockRate: 90000, channels: undefined, parameters: {}, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] },
      { payloadType: 124, name: 'rtx', clockRate: 90000, channels: undefined, parameters: { apt: 120 }, rtcpFeedback: [{ type: 'ccm', parameter: 'fir' }] },
    ]);
  });

  it.each([
    ['not SDP at all', 'hello', /must start with v=0/],
    ['a line that is not type=value', 'v=0\r\nwhat is this\r\n', /line 2 is not type=value/],
    ['no media', 'v=0\r\ns=-\r\n', /no media section/],
    ['no fingerprint', videoOffer('96', ['a=rtpmap:96 VP8/90000']).replace(/a=fingerprint.*\r\n/, ''), /no a=fingerprint/],
    ['a broken fingerprint', videoOffer('96', ['a=rtpmap:96 VP8/90000']).replace(/(a=fingerprint:sha-256) \S+/, '$1 zz'), /a=fingerprint needs/],
    ['a payload type out of range', videoOffer('300', ['a=rtpmap:300 VP8/90000']), /payload type 300 is not 0-127/],
    ['an SSRC out of range', videoOffer('96', ['a=rtpmap:96 VP8/90000'], ['a=ssrc:4294967296 cname:x']), /SSRC 4294967296 is not/],
    ['an extension id out of range', videoOffer('96', ['a=rtpmap:96 VP8/90000', 'a=extmap:256 urn:x']), /a=extmap is not/],
    ['too many media sections', `v=0\r\n${'m=video 9 UDP/TLS/RTP/SAVPF 96\r\n'.repeat(MAX_MEDIA_SECTIONS + 1)}`, /more than 8 media sections/],
    ['a bad setup', videoOffer('96', ['a=rtpmap:96 VP8/90000']).replace('a=setup:actpass', 'a=setup:whatever'), /a=setup:whatever/],
  ])('refuses %s with 400 and the reason', (_what, sdp, reason) => {
    const error = refusal(() => parseOffer(sdp));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/^bad SDP offer: /);
    expect(error.message).toMatch(reason);
  });
});

describe('negotiate', () => {
  it("takes Chromium's opus and VP8 with retransmissions, the extensions the router knows, no RIDs", () => {
    const sections = negotiate(parseOffer(CHROMIUM), capabilities);
    const [audio, video] = accepted(sections);
    expect(audio!.rtpParameters.codecs.map((c) => [c.mimeType, c.payloadType])).toEqual([['audio/opus', 111]]);
    expect(video!.rtpParameters.codecs.map((c) => [c.mimeType, c.payloadType])).toEqual([
      ['video/VP8', 96],
      ['video/rtx', 97],
    ]);
    expect(video!.rtpParameters.codecs[0]!.rtcpFeedback).toEqual(
      expect.arrayContaining([{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'transport-cc' }]),
    );
    const uris = video!.rtpParameters.headerExtensions!.map((h) => h.uri);
    expect(uris).toContain('urn:ietf:params:rtp-hdrext:sdes:mid');
    expect(uris).toContain('http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01');
    expect(uris).not.toContain('urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id');
    expect(uris).not.toContain('http://www.webrtc.org/experiments/rtp-hdrext/video-content-type');
    const fid = parseOffer(CHROMIUM).media[1]!.ssrcGroups[0]!.ssrcs;
    expect(video!.rtpParameters.encodings).toEqual([{ ssrc: fid[0], rtx: { ssrc: fid[1] } }]);
    expect(video!.rtpParameters.rtcp).toEqual({ cname: expect.any(String), reducedSize: true });
    expect(video!.rtpParameters.mid).toBe('1');
  });

  it('takes constrained-baseline H.264 with packetization-mode 1 when it comes first (as OBS offers it)', () => {
    const sections = negotiate(
      parseOffer(
        videoOffer('102 104 96', [
          'a=rtpmap:102 H264/90000',
          'a=fmtp:102 profile-level-id=42001f;packetization-mode=1',
          'a=rtpmap:104 H264/90000',
          'a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
          'a=rtpmap:96 VP8/90000',
        ]),
      ),
      capabilities,
    );
    expect(accepted(sections)[0]!.rtpParameters.codecs).toMatchObject([{ mimeType: 'video/H264', payloadType: 104 }]);
  });

  it('takes an offer shaped like OBS Studio\'s: session-level ICE and DTLS, SSRCs, no extensions, H.264 and opus', () => {
    const offer = parseOffer(OBS_LIKE);
    expect(offer.ice).toEqual({ usernameFragment: 'obsU', password: 'obspassword0123456789ab' });
    expect(offer.fingerprints).toHaveLength(1);
    const [audio, video] = accepted(negotiate(offer, capabilities));
    expect(audio!.rtpParameters).toMatchObject({ codecs: [{ mimeType: 'audio/opus', payloadType: 111 }], encodings: [{ ssrc: 1001 }], rtcp: { cname: 'obs' } });
    expect(video!.rtpParameters).toMatchObject({ codecs: [{ mimeType: 'video/H264', payloadType: 96 }], encodings: [{ ssrc: 1002 }], headerExtensions: [] });
    expect(video!.rtpParameters.codecs[0]!.rtcpFeedback).toEqual([{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }]);
  });

  it('refuses video it cannot decode with 422, naming what was offered and what is accepted', () => {
    const error = refusal(() =>
      negotiate(
        parseOffer(
          videoOffer('45 98 102', [
            'a=rtpmap:45 AV1/90000',
            'a=rtpmap:98 VP9/90000',
            'a=rtpmap:102 H264/90000',
            'a=fmtp:102 profile-level-id=640c1f;packetization-mode=1',
          ]),
        ),
        capabilities,
      ),
    );
    expect(error.status).toBe(422);
    expect(error.message).toBe(
      'unsupported video codec: offered AV1, VP9, H264 (profile-level-id 640c1f, packetization-mode 1); accepted: VP8, or H264 in constrained baseline profile with packetization-mode=1',
    );
  });

  it('refuses an offer without a sending video section (audio only, or video it only wants to receive)', () => {
    const audioOnly = CHROMIUM.slice(0, CHROMIUM.indexOf('m=video'));
    expect(refusal(() => negotiate(parseOffer(audioOnly), capabilities)).message).toMatch(/^no video to analyse/);
    const recvonly = CHROMIUM.replace(/(m=video[^]*?)a=sendonly/, '$1a=recvonly');
    const error = refusal(() => negotiate(parseOffer(recvonly), capabilities));
    expect(error.status).toBe(422);
    expect(error.message).toMatch(/^no video to analyse/);
  });

  it('declines what it does not take (data channels, audio it cannot play, a second video) and keeps their place', () => {
    const offer = parseOffer(CHROMIUM.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0 1 2 3').replace('m=audio 57453 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126', 'm=audio 9 UDP/TLS/RTP/SAVPF 0 8'));
    offer.media.push({ ...offer.media[1]!, mid: '2' }, { ...offer.media[1]!, kind: 'application', protocol: 'UDP/DTLS/SCTP', formats: ['webrtc-datachannel'], mid: '3' });
    const sections = negotiate(offer, capabilities);
    expect(sections.map((s) => [s.kind, s.mid, s.accepted])).toEqual([
      ['audio', '0', false],
      ['video', '1', true],
      ['video', '2', false],
      ['application', '3', false],
    ]);
  });

  it('refuses media it could not tell apart (no SSRC, no mid extension) and media without rtcp-mux', () => {
    const bare = videoOffer('96', ['a=rtpmap:96 VP8/90000'], []).replace('a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n', '');
    expect(refusal(() => negotiate(parseOffer(bare), capabilities)).message).toMatch(/no a=ssrc and no sdes:mid/);
    // With the mid extension, a single stream without SSRCs is matched by its mid.
    const midOnly = videoOffer('96', ['a=rtpmap:96 VP8/90000'], []);
    expect(accepted(negotiate(parseOffer(midOnly), capabilities))[0]!.rtpParameters.encodings).toEqual([{}]);
    const noMux = videoOffer('96', ['a=rtpmap:96 VP8/90000']).replace('a=rtcp-mux\r\n', '');
    expect(refusal(() => negotiate(parseOffer(noMux), capabilities)).message).toMatch(/lacks a=rtcp-mux/);
  });

  it('produces on a real WebRtcTransport with the parameters it negotiates (VP8, H.264, opus, the OBS-like offer)', async () => {
    const h264 = videoOffer('104', ['a=rtpmap:104 H264/90000', 'a=fmtp:104 packetization-mode=1;profile-level-id=42e01f'], ['a=ssrc:2222 cname:x']);
    for (const sdp of [CHROMIUM, h264, OBS_LIKE]) {
      const transport = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
      for (const section of accepted(negotiate(parseOffer(sdp), capabilities))) {
        const producer = await transport.produce({ kind: section.kind, rtpParameters: section.rtpParameters });
        expect(producer.kind).toBe(section.kind);
      }
      transport.close();
    }
  });
});

describe('writeAnswer', () => {
  const transport = {
    iceParameters: { usernameFragment: 'srvufrag', password: 'srvpassword0123456789', iceLite: true },
    iceCandidates: [
      { foundation: 'udpcandidate', priority: 1076302079, ip: '127.0.0.1', address: '127.0.0.1', protocol: 'udp' as const, port: 40001, type: 'host' as const },
      { foundation: 'tcpcandidate', priority: 1076276479, ip: '127.0.0.1', address: '127.0.0.1', protocol: 'tcp' as const, port: 40002, type: 'host' as const, tcpType: 'passive' as const },
    ],
    dtlsParameters: { fingerprints: [{ algorithm: 'sha-256' as const, value: FINGERPRINT }] },
  };

  it('answers ICE-lite, receive-only, BUNDLEd, with candidates; declined sections with port 0', () => {
    const offer = parseOffer(CHROMIUM.replace('m=audio 57453 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126', 'm=audio 9 UDP/TLS/RTP/SAVPF 0 8'));
    const answer = writeAnswer(negotiate(offer, capabilities), offer.setup, transport, '42');
    const lines = answer.split('\r\n');
    expect(answer.endsWith('\r\n')).toBe(true);
    expect(lines.slice(0, 6)).toEqual(['v=0', 'o=- 42 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=ice-lite', 'a=group:BUNDLE 1']);
    expect(lines).toContain('m=audio 0 UDP/TLS/RTP/SAVPF 0 8');
    expect(lines).toContain('m=video 9 UDP/TLS/RTP/SAVPF 96 97');
    for (const line of [
      'a=recvonly',
      'a=setup:passive',
      'a=ice-ufrag:srvufrag',
      `a=fingerprint:sha-256 ${FINGERPRINT}`,
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 nack pli',
      'a=rtpmap:97 rtx/90000',
      'a=fmtp:97 apt=96',
      'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
      'a=candidate:udpcandidate 1 udp 1076302079 127.0.0.1 40001 typ host',
      'a=candidate:tcpcandidate 1 tcp 1076276479 127.0.0.1 40002 typ host tcptype passive',
      'a=end-of-candidates',
    ]) {
      expect(lines).toContain(line);
    }
    // The answer is SDP the offer parser reads back: the same media, in the same order.
    expect(parseOffer(answer).media.map((m) => [m.kind, m.mid, m.port])).toEqual([
      ['audio', '0', 0],
      ['video', '1', 9],
    ]);
  });

  it('takes the DTLS client role when the client offers passive', () => {
    expect(clientDtlsRole('actpass')).toBe('client');
    expect(clientDtlsRole('active')).toBe('client');
    expect(clientDtlsRole('passive')).toBe('server');
    const offer = parseOffer(CHROMIUM.replaceAll('a=setup:actpass', 'a=setup:passive'));
    expect(writeAnswer(negotiate(offer, capabilities), offer.setup, transport, '1')).toContain('a=setup:active');
  });
});

describe('isConstrainedBaseline', () => {
  it.each([
    ['42e01f', true],
    ['42c01f', true],
    ['4d801f', true],
    ['58c01f', true],
    [undefined, true],
    ['42001f', false],
    ['4d001f', false],
    ['640c1f', false],
    ['42e0', false],
    [42, false],
  ])('%s: %s', (profile, expected) => expect(isConstrainedBaseline(profile)).toBe(expected));
});

describe('PATCH fragments', () => {
  it('finds the ICE credentials of a restart, and none in trickled candidates', () => {
    expect(sdpFragIce('a=ice-ufrag:new1\r\na=ice-pwd:newpassword0123456789\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\n')).toEqual({
      usernameFragment: 'new1',
      password: 'newpassword0123456789',
    });
    expect(sdpFragIce('m=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\na=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\n')).toBeUndefined();
  });

  it('refuses a half restart and lines that are not SDP', () => {
    expect(refusal(() => sdpFragIce('a=ice-ufrag:new1\r\n')).message).toMatch(/go together/);
    expect(refusal(() => sdpFragIce('hello\r\n')).status).toBe(400);
  });

  it("writes the server's new credentials and candidates", () => {
    const fragment = restartFragment({ usernameFragment: 'u2', password: 'p2', iceLite: true }, [], '1');
    expect(fragment).toBe('a=ice-lite\r\na=ice-ufrag:u2\r\na=ice-pwd:p2\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\na=end-of-candidates\r\n');
  });
});
