/** A WHIP request the server will not serve: the HTTP status and the reason, for the response body. */
export class WhipRefusal extends Error {
  override name = 'WhipRefusal';
  constructor(
    readonly status: number,
    message: string,
    /** Headers the status calls for (Allow, Retry-After, Location of a redirect). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badSdp = (message: string) => new WhipRefusal(400, `bad SDP offer: ${message}`);
