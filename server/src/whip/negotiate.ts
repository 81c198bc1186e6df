import type { types } from 'mediasoup';
import type { OfferedCodec, OfferedMedia, Offer } from './offer.ts';
import { WhipRefusal, badSdp } from './refusal.ts';

/** What the answer says of one media section of the offer, in the offer's order. */
export type AnswerSection =
  | { accepted: true; kind: types.MediaKind; mid: string | undefined; rtpParameters: types.RtpParameters }
  | { accepted: false; kind: string; protocol: string; formats: string[]; mid: string | undefined };

export type AcceptedSection = Extract<AnswerSection, { accepted: true }>;

/** The codecs a publisher may send, said in a refusal and in the README. */
export const ACCEPTED_VIDEO = 'VP8, or H264 in constrained baseline profile with packetization-mode=1';

const SECURE_RTP = /^(UDP|TCP)\/TLS\/RTP\/SAVPF$/;
/** Not codecs of their own: retransmissions, redundancy and forward error correction, comfort noise, DTMF. */
const HELPER_CODECS = new Set(['rtx', 'red', 'ulpfec', 'flexfec-03', 'cn', 'telephone-event']);
/** RID-based simulcast is declined (one stream per section): the answer asks for no RIDs. */
const RID_EXTENSIONS = new Set(['urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id']);
const MID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:mid';

/**
 * Which of the offer's media the server receives, as mediasoup producer RTP parameters: the first video
 * section (required; VP8 or H.264 as the router speaks them) and the first audio section (opus, optional),
 * each sending, secure RTP, rtcp-mux and in the BUNDLE group with the others. Everything else is
 * declined in the answer (port 0), as is RID simulcast: the client then sends one stream. A video the
 * server cannot decode refuses the offer (422), naming the codecs offered and those accepted.
 */
export function negotiate(offer: Offer, capabilities: types.RtpCapabilities): AnswerSection[] {
  const taken = new Set<string>();
  const unsupportedVideo: string[] = [];
  const sections = offer.media.map((media): AnswerSection => {
    const declined: AnswerSection = { accepted: false, kind: media.kind, protocol: media.protocol, formats: media.formats, mid: media.mid };
    const kind = media.kind;
    if (kind !== 'audio' && kind !== 'video') return declined;
    if (taken.has(kind) || media.port === 0 || !SECURE_RTP.test(media.protocol)) return declined;
    if (media.direction !== 'sendonly' && media.direction !== 'sendrecv') return declined;
    // Without BUNDLE, the one transport can only carry the first media section.
    const bundled = offer.bundle.length > 0 ? media.mid !== undefined && offer.bundle.includes(media.mid) : media === offer.media[0];
    if (!bundled) return declined;
    const rtpParameters = producerParameters(media, kind, capabilities);
    if (!rtpParameters) {
      if (kind === 'video') unsupportedVideo.push(...media.codecs.filter((c) => !HELPER_CODECS.has(c.name.toLowerCase())).map(describe));
      return declined;
    }
    if (media.ssrcGroups.some((g) => g.semantics === 'SIM')) {
      throw new WhipRefusal(422, 'SSRC simulcast (a=ssrc-group:SIM) is not supported; send one stream');
    }
    if (!media.rtcpMux) throw badSdp(`media section ${media.mid ?? kind} lacks a=rtcp-mux`);
    taken.add(kind);
    return { accepted: true, kind, mid: media.mid, rtpParameters };
  });
  if (!taken.has('video')) {
    if (unsupportedVideo.length > 0) {
      throw new WhipRefusal(422, `unsupported video codec: offered ${[...new Set(unsupportedVideo)].join(', ')}; accepted: ${ACCEPTED_VIDEO}`);
    }
    throw new WhipRefusal(422, 'no video to analyse: the offer needs a sending video section (UDP/TLS/RTP/SAVPF, in the BUNDLE group)');
  }
  return sections;
}

/** The RTP parameters to produce `media` with, or undefined when none of its codecs is the router's. */
function producerParameters(media: OfferedMedia, kind: types.MediaKind, capabilities: types.RtpCapabilities): types.RtpParameters | undefined {
  const routerCodecs = capabilities.codecs ?? [];
  let chosen: { offered: OfferedCodec; capability: types.RtpCodecCapability } | undefined;
  for (const offered of media.codecs) {
    const capability = routerCodecs.find((c) => c.kind === kind && sameCodec(offered, kind, c));
    if (capability && !HELPER_CODECS.has(offered.name.toLowerCase())) {
      chosen = { offered, capability };
      break;
    }
  }
  if (!chosen) return undefined;
  const { offered, capability } = chosen;
  const feedback = (capability.rtcpFeedback ?? [])
    .filter((fb) => offered.rtcpFeedback.some((o) => o.type === fb.type && (o.parameter ?? '') === (fb.parameter ?? '')))
    .map(({ type, parameter }) => ({ type, ...(parameter && { parameter }) }));
  const codecs: types.RtpCodecParameters[] = [
    {
      mimeType: capability.mimeType,
      payloadType: offered.payloadType,
      clockRate: offered.clockRate,
      ...(offered.channels !== undefined && { channels: offered.channels }),
      parameters: offered.parameters,
      rtcpFeedback: feedback,
    },
  ];
  const routerRtx = routerCodecs.some((c) => c.kind === kind && c.mimeType.toLowerCase() === `${kind}/rtx`);
  const rtx = media.codecs.find((c) => c.name.toLowerCase() === 'rtx' && c.parameters.apt === offered.payloadType);
  if (routerRtx && rtx) {
    codecs.push({ mimeType: `${kind}/rtx`, payloadType: rtx.payloadType, clockRate: rtx.clockRate, parameters: { apt: offered.payloadType }, rtcpFeedback: [] });
  }
  const headerExtensions = media.extensions
    .filter(({ uri }) => !RID_EXTENSIONS.has(uri))
    .filter(({ uri }) =>
      (capabilities.headerExtensions ?? []).some(
        (h) => h.kind === kind && h.uri === uri && (h.direction === undefined || h.direction === 'sendrecv' || h.direction === 'recvonly'),
      ),
    )
    .map(({ id, uri }) => ({ id, uri: uri as types.RtpHeaderExtensionUri }));
  const encoding = encodingOf(media, codecs.length > 1);
  if (!encoding && !headerExtensions.some((h) => h.uri === MID_EXTENSION)) {
    throw badSdp(`media section ${media.mid ?? kind} signals no a=ssrc and no sdes:mid header extension: its RTP could not be told apart`);
  }
  const cname = media.ssrcs.find((s) => s.ssrc === encoding?.ssrc)?.cname ?? media.ssrcs.find((s) => s.cname !== undefined)?.cname;
  return {
    ...(media.mid !== undefined && { mid: media.mid }),
    codecs,
    headerExtensions,
    encodings: [encoding ?? {}],
    rtcp: { ...(cname !== undefined && { cname }), reducedSize: media.rtcpReducedSize },
  };
}

/** The stream's SSRC (the first signalled that is not another's retransmission) and that of its retransmissions. */
function encodingOf(media: OfferedMedia, withRtx: boolean): types.RtpEncodingParameters | undefined {
  const fid = media.ssrcGroups.filter((g) => g.semantics === 'FID' && g.ssrcs.length === 2);
  const repairs = new Set(fid.map((g) => g.ssrcs[1]));
  const primary = media.ssrcs.find((s) => !repairs.has(s.ssrc))?.ssrc;
  if (primary === undefined) return undefined;
  const rtx = fid.find((g) => g.ssrcs[0] === primary)?.ssrcs[1];
  return { ssrc: primary, ...(withRtx && rtx !== undefined && { rtx: { ssrc: rtx } }) };
}

function sameCodec(offered: OfferedCodec, kind: types.MediaKind, capability: types.RtpCodecCapability): boolean {
  if (capability.mimeType.toLowerCase() !== `${kind}/${offered.name.toLowerCase()}`) return false;
  if (capability.clockRate !== offered.clockRate) return false;
  if (kind === 'audio' && (capability.channels ?? 1) !== (offered.channels ?? 1)) return false;
  if (capability.mimeType.toLowerCase() === 'video/h264') {
    return (
      offered.parameters['packetization-mode'] === capability.parameters?.['packetization-mode'] &&
      isConstrainedBaseline(offered.parameters['profile-level-id']) &&
      isConstrainedBaseline(capability.parameters?.['profile-level-id'])
    );
  }
  return true;
}

/**
 * Whether an H.264 profile-level-id is Constrained Baseline (the profile the router and the frame tap take),
 * by RFC 6184's profile_idc and constraint flags as libwebrtc reads them; absent, it is (JSEP's default).
 */
export function isConstrainedBaseline(profileLevelId: unknown): boolean {
  if (profileLevelId === undefined) return true;
  if (typeof profileLevelId !== 'string' || !/^[0-9a-fA-F]{6}$/.test(profileLevelId)) return false;
  const idc = parseInt(profileLevelId.slice(0, 2), 16);
  const iop = parseInt(profileLevelId.slice(2, 4), 16);
  if ((iop & 0x0f) !== 0) return false;
  if (idc === 0x42) return (iop & 0x40) !== 0;
  if (idc === 0x4d) return (iop & 0x80) !== 0;
  if (idc === 0x58) return (iop & 0xc0) === 0xc0;
  return false;
}

function describe(codec: OfferedCodec): string {
  if (codec.name.toLowerCase() !== 'h264') return codec.name;
  const { 'profile-level-id': profile, 'packetization-mode': mode } = codec.parameters;
  return `H264 (profile-level-id ${String(profile ?? '-')}, packetization-mode ${String(mode ?? 0)})`;
}
