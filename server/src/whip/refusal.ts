import { HttpRefusal } from '../http/HttpRefusal.ts';

/** A WHIP request the server will not serve: the HTTP status and the reason, for the response body. */
export class WhipRefusal extends HttpRefusal {
  override name = 'WhipRefusal';
}

export const badSdp = (message: string) => new WhipRefusal(400, `bad SDP offer: ${message}`);
