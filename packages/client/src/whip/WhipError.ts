/**
 * Why a WHIP publish or its end failed:
 * - `refused`: the server answered with an error status (`status`, and `reason`, the server's text body that says why:
 *   401 a missing or bad token, 403 a token without the publish grant or of another room, 422 no video it can
 *   decode, 429 a full room or server (`retryAfterSeconds`), 503 shutting down, ...);
 * - `network`: the server could not be reached (down, a wrong URL, a page origin it does not allow: CORS, or a
 *   307 to the node of the service that has the room, which a browser follows with `Origin: null` and no token);
 * - `bad-answer`: a 201 without a `Location`, or with an SDP answer the browser does not take;
 * - `connection-failed`: the answer was taken, but ICE or DTLS failed (the server's candidates are not reachable);
 * - `timeout`: no connection within the publish's `timeoutMs`.
 */
export type WhipErrorCode = 'refused' | 'network' | 'bad-answer' | 'connection-failed' | 'timeout';

export class WhipError extends Error {
  override name = 'WhipError';
  /** The HTTP status of a `refused` request. */
  readonly status: number | undefined;
  /** The server's own words for a `refused` request (its response body). */
  readonly reason: string | undefined;
  /** When a 429 says to try again. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: WhipErrorCode,
    message: string,
    details: { status?: number; reason?: string; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.reason = details.reason;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/** The longest part of an error body kept: a server's reason is a line, a proxy's error page is not. */
const MAX_REASON_LENGTH = 1000;

/** A `refused` error for a response that is not the one expected, with the server's reason in it. */
export async function refusal(response: Response, what: string): Promise<WhipError> {
  const reason = (await response.text().catch(() => '')).trim().slice(0, MAX_REASON_LENGTH);
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  return new WhipError('refused', `${what} refused: ${response.status}${reason ? ` ${reason}` : ''}`, {
    status: response.status,
    reason,
    ...(Number.isFinite(retryAfter) && { retryAfterSeconds: retryAfter }),
  });
}
