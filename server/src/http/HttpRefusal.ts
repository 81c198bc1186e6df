/** A request the server will not serve: the HTTP status, and the reason for the response body. */
export class HttpRefusal extends Error {
  override name = 'HttpRefusal';
  constructor(
    readonly status: number,
    message: string,
    /** Headers the status calls for (Allow, Retry-After, Location of a redirect). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
