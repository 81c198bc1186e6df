import type { DecoderInput } from '../media/FfmpegDecoder.ts';
import type { ResolvedSource } from './resolveSource.ts';
import type { SourceScheme } from './sourceAddress.ts';

/**
 * The protocols ffmpeg may open for each scheme, nested ones included: nothing else (file, pipe, concat,
 * subfile, data, udp to elsewhere...) even if a playlist or a server's answer names it. RTSP is carried over
 * its one TCP connection, so no RTP/UDP port is opened towards an address the server's answer chose.
 */
const PROTOCOLS: Record<SourceScheme, string> = {
  rtsp: 'rtsp,tcp',
  rtsps: 'rtsps,tls,tcp',
  rtmp: 'rtmp,tcp',
  rtmps: 'rtmps,tls,tcp',
  srt: 'srt',
  // An HLS playlist's segments and variants may be on other hosts, over http or https, AES-encrypted (crypto);
  // all of it through the checking proxy (httpproxy: https's CONNECT tunnel).
  http: 'http,https,tls,tcp,crypto,httpproxy',
  https: 'http,https,tls,tcp,crypto,httpproxy',
};

/** Socket reads and connects that wait longer than this fail (µs), so a silent server ends ffmpeg. */
const IO_TIMEOUT_US = 10_000_000;
/** Enough probing for a stream's codec and size (µs), not the default 5 s before the first frame. */
const ANALYZE_DURATION_US = 1_000_000;

/**
 * ffmpeg's input options for a checked source. Live protocols (rtsp, rtmp, srt) deliver in real time and are
 * read as they come; over http(s) a file or a VOD playlist would be read as fast as the network allows, so it
 * is read at its own rate (`-re`): frames arrive as if live, none pile up. ffmpeg follows no redirect: they
 * were followed, and checked, before (resolveSource.ts); and every http(s) request it makes (a playlist's
 * segments included) goes through `httpProxy`, which checks its host (SourceProxy.ts).
 */
export function sourceInput(source: ResolvedSource, httpProxy: string): DecoderInput {
  const web = source.scheme === 'http' || source.scheme === 'https';
  return {
    args: [
      '-protocol_whitelist', PROTOCOLS[source.scheme],
      '-analyzeduration', String(ANALYZE_DURATION_US),
      '-threads', '1',
      ...(source.scheme === 'rtsp' || source.scheme === 'rtsps' ? ['-rtsp_transport', 'tcp', '-timeout', String(IO_TIMEOUT_US)] : []),
      ...(source.scheme === 'srt' ? [] : ['-rw_timeout', String(IO_TIMEOUT_US)]),
      ...(web ? ['-max_redirects', '0', '-http_proxy', httpProxy, '-re'] : []),
      '-i', source.url,
    ],
  };
}
