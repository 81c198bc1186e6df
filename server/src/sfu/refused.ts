import { invalidRequest } from '../errors.ts';
import { createLogger } from '../log.ts';

const log = createLogger('sfu');

/**
 * Runs a mediasoup call that takes what a client sent (DTLS parameters, RTP parameters, capabilities).
 * mediasoup refuses bad input with TypeError, and its worker refuses a duplicate SSRC or MID, or a second
 * connect, with a plain Error: the client's mistakes, answered INVALID_REQUEST in our words (the engine's
 * text, which names its internals, goes to the debug log). A closed channel or object (InvalidStateError)
 * is not the client's doing and goes up unchanged, to be logged and answered INTERNAL.
 */
export async function clientInput<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof Error) || error.name === 'InvalidStateError') throw error;
    log.debug('mediasoup refused client input', { what, error });
    throw invalidRequest(`${what} refused by the media server`);
  }
}
