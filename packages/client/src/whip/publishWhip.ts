import { WhipError, refusal } from './WhipError.ts';

/** What is sent: a stream's first video track (and its first audio track with `audio: true`), or one video track. */
export type WhipMedia = { stream: MediaStream; audio?: boolean } | { track: MediaStreamTrack };

export type PublishWhipOptions = WhipMedia & {
  /** The server's WHIP endpoint, `https://host:3000/whip/<room>`. */
  endpoint: string | URL;
  /**
   * A participant token with the `publish` grant for the room (`npm run token -- participant --room <room>`); its
   * identity and name are the publisher's. Not needed where the server runs with `CALL_AUTH=open`.
   */
  token?: string;
  /**
   * The publisher's consent: `on` asks for the analysis (also where the server's default is off), `off` declines it;
   * left out, the server's default. Either way only within the token's `analysed` grant.
   */
  analysis?: 'on' | 'off';
  /** The publisher's name in the room, taken only with `CALL_AUTH=open` (a token names its holder). */
  name?: string;
  /** Gives up the publish: the promise rejects with the signal's reason and nothing is left on the server. */
  signal?: AbortSignal;
  /** How long the offer, the answer and the connection may take together (default 15 s): then a `timeout` WhipError. */
  timeoutMs?: number;
  /** Told each connection state change from the start (`connecting`, `connected`, ..., `closed` after `stop()`). */
  onStateChange?: (state: RTCPeerConnectionState) => void;
  /** For the peer connection (ICE servers, a certificate); its bundle policy is always `max-bundle`. */
  rtcConfiguration?: RTCConfiguration;
};

export const DEFAULT_WHIP_TIMEOUT_MS = 15_000;
/** How long the DELETE that undoes a failed publish, or ends one, may take. */
const DELETE_TIMEOUT_MS = 5_000;

/**
 * Publishes a camera (or any video track) to the affect service over WHIP (RFC 9725), from a browser: the track
 * on a send-only `RTCPeerConnection`, its SDP offer POSTed to the endpoint with the bearer token, the answer taken,
 * and the promise resolved once the connection is up (the server then analyses the video like a call page
 * camera). The offer goes at once, with no candidates: the server is ICE-lite and finds the client's address
 * from the client's own connectivity checks, so neither waiting for ICE gathering nor trickling is needed.
 *
 * Every failure rejects with a `WhipError` saying why (an abort with the signal's reason), and undoes what was
 * made: the connection is closed and a session the server had created is DELETEd. The caller's tracks are
 * never stopped: they are the caller's.
 */
export async function publishWhip(options: PublishWhipOptions): Promise<WhipPublication> {
  if (typeof RTCPeerConnection === 'undefined') throw new TypeError('publishWhip runs in a browser: there is no RTCPeerConnection here');
  const tracks = tracksOf(options);
  const endpoint = endpointOf(options);
  const pc = new RTCPeerConnection({ ...options.rtcConfiguration, bundlePolicy: 'max-bundle' });
  const publication = new Publication(pc, options.token);
  if (options.onStateChange) publication.onStateChange(options.onStateChange);
  const deadline = new AbortController();
  const timeoutMs = options.timeoutMs ?? DEFAULT_WHIP_TIMEOUT_MS;
  const timer = setTimeout(() => deadline.abort(new WhipError('timeout', `no WHIP connection to ${endpoint.origin} within ${timeoutMs} ms`)), timeoutMs);
  const onAbort = () => deadline.abort(options.signal!.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    deadline.signal.throwIfAborted();
    for (const track of tracks) pc.addTransceiver(track, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const response = await post(endpoint, pc.localDescription!.sdp, options.token, deadline.signal);
    if (response.status !== 201) throw await refusal(response, `WHIP publish to ${endpoint.href}`);
    const location = response.headers.get('location');
    // A 201 without its Location made a session nobody can end: the server ends it when no media comes.
    if (location === null) throw new WhipError('bad-answer', 'the WHIP server answered 201 without a Location (a CORS setup that does not expose it?)');
    // Relative to where the POST ended, which a redirect moved.
    publication.created(new URL(location, response.url || endpoint).href, response.headers.get('etag'));
    const answer = await response.text();
    await pc.setRemoteDescription({ type: 'answer', sdp: answer }).catch((error: unknown) => {
      throw new WhipError('bad-answer', `the WHIP server's SDP answer was not taken: ${(error as Error).message}`, { cause: error });
    });
    await connected(pc, deadline.signal);
    return publication;
  } catch (error) {
    const aborted = deadline.signal.aborted;
    await publication.stop().catch(() => undefined);
    throw aborted ? deadline.signal.reason : error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** A publish that is up: its session on the server (`resource`), its connection, and `stop()` to end both. */
export interface WhipPublication {
  /** The session's URL on the server (absolute): what `stop()` DELETEs. */
  readonly resource: string;
  /** The session's ETag, which a PATCH (an ICE restart) names in `If-Match`. */
  readonly etag: string | undefined;
  /** The connection sending the media: its stats, its senders (`replaceTrack` to switch cameras). */
  readonly peerConnection: RTCPeerConnection;
  readonly state: RTCPeerConnectionState;
  /**
   * Calls `listener` on each connection state change; returns the call that stops it. `failed`, or `disconnected`
   * for good, means the server no longer gets the video (it ends a session whose ICE fails, or whose video stops
   * for WHIP_NO_MEDIA_TIMEOUT_MS); `closed` follows `stop()`.
   */
  onStateChange(listener: (state: RTCPeerConnectionState) => void): () => void;
  /**
   * Ends the publish: DELETE on the resource (the server's session ends, its faces are lost), then the connection
   * is closed. Resolves once the server has answered; a session the server had already ended (404) is no error.
   * Rejects with a WhipError if the DELETE failed (the connection is closed all the same, and the server ends the
   * session when its DTLS closes). Calling it again returns the same promise.
   */
  stop(): Promise<void>;
}

class Publication implements WhipPublication {
  readonly #listeners = new Set<(state: RTCPeerConnectionState) => void>();
  #resource: string | undefined;
  #etag: string | undefined;
  #stopped: Promise<void> | undefined;
  readonly #token: string | undefined;

  constructor(
    readonly peerConnection: RTCPeerConnection,
    token: string | undefined,
  ) {
    this.#token = token;
    peerConnection.addEventListener('connectionstatechange', () => this.#emit(peerConnection.connectionState));
  }

  created(resource: string, etag: string | null): void {
    this.#resource = resource;
    this.#etag = etag ?? undefined;
  }

  get resource(): string {
    return this.#resource!;
  }

  get etag(): string | undefined {
    return this.#etag;
  }

  get state(): RTCPeerConnectionState {
    return this.peerConnection.connectionState;
  }

  onStateChange(listener: (state: RTCPeerConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    try {
      if (this.#resource === undefined) return;
      const response = await fetch(this.#resource, {
        method: 'DELETE',
        headers: authorization(this.#token),
        signal: AbortSignal.timeout(DELETE_TIMEOUT_MS),
      }).catch((error: unknown) => {
        throw new WhipError('network', `the WHIP DELETE of ${this.#resource} failed: ${(error as Error).message}`, { cause: error });
      });
      if (!response.ok && response.status !== 404) throw await refusal(response, `WHIP DELETE of ${this.#resource}`);
    } finally {
      this.peerConnection.close();
      // close() fires no event of its own.
      this.#emit('closed');
    }
  }

  #emit(state: RTCPeerConnectionState): void {
    for (const listener of this.#listeners) listener(state);
  }
}

function tracksOf(media: WhipMedia): MediaStreamTrack[] {
  if ('track' in media) {
    if (media.track?.kind !== 'video') throw new TypeError('publishWhip: `track` must be a video track (the service analyses video)');
    return [media.track];
  }
  const video = media.stream.getVideoTracks()[0];
  if (!video) throw new TypeError('publishWhip: the stream has no video track (the service analyses video)');
  if (!media.audio) return [video];
  const audio = media.stream.getAudioTracks()[0];
  if (!audio) throw new TypeError('publishWhip: `audio: true`, but the stream has no audio track');
  return [video, audio];
}

function endpointOf(options: PublishWhipOptions): URL {
  const endpoint = new URL(options.endpoint, globalThis.location?.href);
  if (options.analysis !== undefined) endpoint.searchParams.set('analysis', options.analysis);
  if (options.name !== undefined) endpoint.searchParams.set('name', options.name);
  return endpoint;
}

const authorization = (token: string | undefined): Record<string, string> => (token === undefined ? {} : { authorization: `Bearer ${token}` });

async function post(endpoint: URL, offer: string, token: string | undefined, signal: AbortSignal): Promise<Response> {
  try {
    return await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/sdp', ...authorization(token) }, body: offer, signal });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    // A browser says no more than "failed to fetch": the likely causes, then.
    throw new WhipError(
      'network',
      `the WHIP endpoint ${endpoint.href} could not be reached (down, a wrong address, or this page's origin not in its ALLOWED_ORIGINS): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Resolves when the connection is up (ICE and DTLS done); rejects when it fails or `signal` aborts. */
function connected(pc: RTCPeerConnection, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (outcome: () => void) => {
      pc.removeEventListener('connectionstatechange', check);
      signal.removeEventListener('abort', abort);
      outcome();
    };
    const check = () => {
      if (pc.connectionState === 'connected') settle(resolve);
      else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        settle(() => reject(new WhipError('connection-failed', `the WHIP connection ${pc.connectionState} (ICE ${pc.iceConnectionState}): is the server's media address reachable?`)));
      }
    };
    const abort = () => settle(() => reject(signal.reason));
    pc.addEventListener('connectionstatechange', check);
    signal.addEventListener('abort', abort, { once: true });
    if (signal.aborted) abort();
    else check();
  });
}
