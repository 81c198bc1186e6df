import type { ErrorCode } from '../../protocol/signaling.ts';

/** An error a client caused and should be told about; anything else is a bug and reported as INTERNAL. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    readonly code: Exclude<ErrorCode, 'INTERNAL'>,
    message: string,
    /** MOVED: where to go instead. */
    readonly location?: string,
  ) {
    super(message);
  }
}

export const invalidRequest = (message: string) => new RequestError('INVALID_REQUEST', message);
export const notFound = (what: string, id: string) => new RequestError('NOT_FOUND', `${what} ${id} not found`);
export const limitExceeded = (message: string) => new RequestError('LIMIT_EXCEEDED', message);
export const forbidden = (message: string) => new RequestError('FORBIDDEN', message);
export const moved = (url: string) => new RequestError('MOVED', `this room lives on ${url}`, url);
