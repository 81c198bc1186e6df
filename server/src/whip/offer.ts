import type { types } from 'mediasoup';
import { badSdp } from './refusal.ts';

/**
 * The parts of a WHIP client's SDP offer (RFC 8866, JSEP) the server needs to receive its media, read
 * strictly: a line that is not `x=value`, a number out of range or a missing DTLS fingerprint refuses the
 * offer (400) with the line's number; attributes the server has no use for (candidates, msid, ...) are skipped.
 */
export interface Offer {
  /** DTLS fingerprints and role of the client (session-level, or of the first media section). */
  fingerprints: types.DtlsFingerprint[];
  setup: 'actpass' | 'active' | 'passive';
  /** The client's ICE credentials: a later PATCH with others is an ICE restart. */
  ice: { usernameFragment: string; password: string } | undefined;
  /** Mids of the first a=group:BUNDLE; empty without one. */
  bundle: string[];
  media: OfferedMedia[];
}

export interface OfferedMedia {
  /** audio, video, application, ... as the m= line says. */
  kind: string;
  port: number;
  protocol: string;
  /** The m= line's format list, as written (payload types for RTP). */
  formats: string[];
  mid: string | undefined;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  codecs: OfferedCodec[];
  extensions: { id: number; uri: string }[];
  /** a=ssrc-group lines: FID pairs a stream with its retransmissions, SIM lists simulcast layers. */
  ssrcGroups: { semantics: string; ssrcs: number[] }[];
  /** Each signalled SSRC with its cname, if given, in order of appearance. */
  ssrcs: { ssrc: number; cname: string | undefined }[];
  /** a=simulcast (RID-based simulcast) was offered. */
  simulcast: boolean;
  rtcpMux: boolean;
  rtcpReducedSize: boolean;
}

export interface OfferedCodec {
  payloadType: number;
  /** As written in a=rtpmap (VP8, H264, opus, rtx ...). */
  name: string;
  clockRate: number;
  channels: number | undefined;
  /** a=fmtp values; those made of digits only as numbers (mediasoup compares them so). */
  parameters: Record<string, string | number>;
  rtcpFeedback: types.RtcpFeedback[];
}

/** More media sections than any WHIP client sends (audio and video, perhaps data). */
export const MAX_MEDIA_SECTIONS = 8;
const FINGERPRINT_ALGORITHMS = new Set<string>(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);
const DIRECTIONS = new Set<string>(['sendrecv', 'sendonly', 'recvonly', 'inactive']);
/** fmtp values kept as text even when made of digits: an H.264 profile is hex. */
const TEXT_PARAMETERS = new Set(['profile-level-id']);

export function parseOffer(sdp: string): Offer {
  const lines = sdp.split(/\r?\n/);
  // The last line's end, and blank lines a file or a shell added after it.
  while (lines.at(-1) === '') lines.pop();
  if (lines[0] !== 'v=0') throw badSdp('it must start with v=0');
  let session: SessionAttributes = { fingerprints: [], setup: undefined, ufrag: undefined, pwd: undefined };
  const sessionLevel = session;
  let bundle: string[] | undefined;
  const media: ParsedMedia[] = [];
  lines.forEach((line, index) => {
    const number = index + 1;
    const match = /^([a-z])=(.*)$/.exec(line);
    if (!match) throw badSdp(`line ${number} is not type=value`);
    const [, type, value] = match as unknown as [string, string, string];
    if (type === 'm') {
      if (media.length >= MAX_MEDIA_SECTIONS) throw badSdp(`more than ${MAX_MEDIA_SECTIONS} media sections`);
      const section = mediaSection(value, number);
      media.push(section);
      session = section.attributes;
      return;
    }
    if (type !== 'a') return;
    const colon = value.indexOf(':');
    const name = colon < 0 ? value : value.slice(0, colon);
    const rest = colon < 0 ? '' : value.slice(colon + 1);
    const current = media.at(-1);
    if (applySecurity(session, name, rest, number)) return;
    if (!current) {
      if (name === 'group' && bundle === undefined && rest.startsWith('BUNDLE ')) bundle = rest.split(' ').slice(1).filter(Boolean);
      return;
    }
    applyMediaAttribute(current, name, rest, number);
  });
  if (media.length === 0) throw badSdp('no media section');
  // One transport carries every section: its DTLS and ICE attributes are the session's, or those of the first
  // section that has them (a declined section may have none).
  const first = media.find((m) => m.attributes.fingerprints.length > 0)?.attributes;
  const fingerprints = sessionLevel.fingerprints.length > 0 ? sessionLevel.fingerprints : (first?.fingerprints ?? []);
  if (fingerprints.length === 0) throw badSdp('no a=fingerprint: media must be DTLS-SRTP');
  const ufrag = sessionLevel.ufrag ?? first?.ufrag;
  const pwd = sessionLevel.pwd ?? first?.pwd;
  return {
    fingerprints,
    setup: sessionLevel.setup ?? first?.setup ?? 'actpass',
    ice: ufrag !== undefined && pwd !== undefined ? { usernameFragment: ufrag, password: pwd } : undefined,
    bundle: bundle ?? [],
    media: media.map(({ attributes: _, pending, ...section }) => {
      // An a=rtpmap for a payload type the m= line does not list is not offered.
      section.codecs = section.codecs.filter((c) => section.formats.includes(String(c.payloadType)));
      // Firefox writes a=fmtp and a=rtcp-fb before the a=rtpmap they refer to.
      for (const { payloadType, parameters } of pending.fmtp) {
        const codec = section.codecs.find((c) => c.payloadType === payloadType);
        if (codec) Object.assign(codec.parameters, parameters);
      }
      for (const { payloadType, feedback } of pending.rtcpFeedback) {
        for (const codec of section.codecs) if (payloadType === '*' || codec.payloadType === payloadType) codec.rtcpFeedback.push(feedback);
      }
      return section;
    }),
  };
}

/** A media section being read, with what is only known for certain once all its lines are. */
interface ParsedMedia extends OfferedMedia {
  attributes: SessionAttributes;
  pending: {
    fmtp: { payloadType: number; parameters: OfferedCodec['parameters'] }[];
    rtcpFeedback: { payloadType: number | '*'; feedback: types.RtcpFeedback }[];
  };
}

interface SessionAttributes {
  fingerprints: types.DtlsFingerprint[];
  setup: Offer['setup'] | undefined;
  ufrag: string | undefined;
  pwd: string | undefined;
}

function mediaSection(value: string, line: number): ParsedMedia {
  const [kind, port, protocol, ...formats] = value.split(' ');
  if (!kind || !protocol || !/^\d{1,5}(\/\d+)?$/.test(port ?? '') || formats.length === 0) {
    throw badSdp(`line ${line}: m= needs media, port, protocol and formats`);
  }
  return {
    kind,
    port: Number(port!.split('/')[0]),
    protocol,
    formats,
    mid: undefined,
    direction: 'sendrecv',
    codecs: [],
    extensions: [],
    ssrcGroups: [],
    ssrcs: [],
    simulcast: false,
    rtcpMux: false,
    rtcpReducedSize: false,
    attributes: { fingerprints: [], setup: undefined, ufrag: undefined, pwd: undefined },
    pending: { fmtp: [], rtcpFeedback: [] },
  };
}

/** ICE and DTLS attributes, allowed at session and media level; whether `name` was one. */
function applySecurity(target: SessionAttributes, name: string, value: string, line: number): boolean {
  switch (name) {
    case 'fingerprint': {
      const [algorithm, hash] = value.split(' ');
      const lower = algorithm?.toLowerCase() ?? '';
      if (!FINGERPRINT_ALGORITHMS.has(lower) || !/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,63}$/.test(hash ?? '')) {
        throw badSdp(`line ${line}: a=fingerprint needs a hash function (sha-256 ...) and a colon-separated hash`);
      }
      target.fingerprints.push({ algorithm: lower as types.FingerprintAlgorithm, value: hash!.toUpperCase() });
      return true;
    }
    case 'setup':
      if (value !== 'actpass' && value !== 'active' && value !== 'passive') throw badSdp(`line ${line}: a=setup:${value.slice(0, 16)}`);
      target.setup = value;
      return true;
    case 'ice-ufrag':
    case 'ice-pwd':
      if (!/^[A-Za-z0-9+/]{1,256}$/.test(value)) throw badSdp(`line ${line}: a=${name} is not 1-256 ICE characters`);
      if (name === 'ice-ufrag') target.ufrag = value;
      else target.pwd = value;
      return true;
    default:
      return false;
  }
}

function applyMediaAttribute(media: ParsedMedia, name: string, value: string, line: number): void {
  const fail = (what: string) => badSdp(`line ${line}: ${what}`);
  if (DIRECTIONS.has(name)) {
    media.direction = name as OfferedMedia['direction'];
    return;
  }
  switch (name) {
    case 'mid':
      if (!/^[A-Za-z0-9_.~-]{1,32}$/.test(value)) throw fail('a=mid is not 1-32 token characters');
      media.mid = value;
      return;
    case 'rtcp-mux':
      media.rtcpMux = true;
      return;
    case 'rtcp-rsize':
      media.rtcpReducedSize = true;
      return;
    case 'simulcast':
      media.simulcast = true;
      return;
    case 'rtpmap': {
      const match = /^(\d{1,3}) ([A-Za-z0-9_.-]{1,32})\/(\d{1,6})(?:\/(\d{1,2}))?$/.exec(value);
      if (!match) throw fail('a=rtpmap is not "<payload type> <name>/<clock rate>[/<channels>]"');
      media.codecs.push({
        payloadType: payloadType(match[1]!, fail),
        name: match[2]!,
        clockRate: Number(match[3]),
        channels: match[4] === undefined ? undefined : Number(match[4]),
        parameters: {},
        rtcpFeedback: [],
      });
      return;
    }
    case 'fmtp': {
      const [pt, ...rest] = value.split(' ');
      const parameters: OfferedCodec['parameters'] = {};
      for (const pair of rest.join(' ').split(';')) {
        const [key, ...values] = pair.trim().split('=');
        if (!key) continue;
        const text = values.join('=');
        parameters[key] = /^\d{1,9}$/.test(text) && !TEXT_PARAMETERS.has(key) ? Number(text) : text;
      }
      media.pending.fmtp.push({ payloadType: payloadType(pt, fail), parameters });
      return;
    }
    case 'rtcp-fb': {
      const [pt, type, parameter] = value.split(' ');
      if (!type) throw fail('a=rtcp-fb needs a type');
      const feedback = { type, ...(parameter !== undefined && { parameter }) };
      media.pending.rtcpFeedback.push({ payloadType: pt === '*' ? '*' : payloadType(pt, fail), feedback });
      return;
    }
    case 'extmap': {
      const match = /^(\d{1,3})(?:\/\w+)? (\S{1,256})/.exec(value);
      const id = Number(match?.[1]);
      if (!match || id < 1 || id > 255) throw fail('a=extmap is not "<id 1-255> <uri>"');
      media.extensions.push({ id, uri: match[2]! });
      return;
    }
    case 'ssrc': {
      const match = /^(\d{1,10}) ([^:]+)(?::(.*))?$/.exec(value);
      if (!match) throw fail('a=ssrc is not "<ssrc> <attribute>[:<value>]"');
      const ssrc = ssrcOf(match[1]!, fail);
      let entry = media.ssrcs.find((s) => s.ssrc === ssrc);
      if (!entry) {
        if (media.ssrcs.length >= 16) throw fail('more than 16 SSRCs in a media section');
        entry = { ssrc, cname: undefined };
        media.ssrcs.push(entry);
      }
      if (match[2] === 'cname') entry.cname = match[3]?.slice(0, 256);
      return;
    }
    case 'ssrc-group': {
      const [semantics, ...ssrcs] = value.split(' ');
      if (!semantics || ssrcs.length === 0 || ssrcs.length > 8) throw fail('a=ssrc-group needs semantics and 1-8 SSRCs');
      media.ssrcGroups.push({ semantics, ssrcs: ssrcs.map((s) => ssrcOf(s, fail)) });
      return;
    }
    default:
  }
}

function payloadType(text: string | undefined, fail: (what: string) => Error): number {
  const pt = Number(text);
  if (!/^\d{1,3}$/.test(text ?? '') || pt > 127) throw fail(`payload type ${String(text).slice(0, 8)} is not 0-127`);
  return pt;
}

function ssrcOf(text: string, fail: (what: string) => Error): number {
  const ssrc = Number(text);
  if (!/^\d{1,10}$/.test(text) || ssrc < 1 || ssrc > 0xffffffff) throw fail(`SSRC ${text.slice(0, 12)} is not 1-4294967295`);
  return ssrc;
}
