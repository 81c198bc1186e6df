import type { IncomingMessage } from 'node:http';

/** Why a request body was not read: the status to answer and the reason to give. */
export class BodyError extends Error {
  override name = 'BodyError';
  constructor(
    readonly status: 413 | 400,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The body of `req` as text, refused (413) once it passes `maxBytes`: by its Content-Length before a byte is
 * read, or as it streams in without one. A client that stalls mid-body is ended by the server's idle timeout,
 * which settles the promise as one that goes away does.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    req.resume();
    return Promise.reject(new BodyError(413, `the body is ${declared} bytes; the limit is ${maxBytes}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        // The rest is read and thrown away, so that the answer reaches a client still sending.
        req.resume();
        reject(new BodyError(413, `the body is over ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', () => reject(new BodyError(400, 'the body could not be read')));
    // A client gone before the end of its body: nobody to answer, and nothing to wait for.
    req.once('close', () => req.complete || reject(new BodyError(400, 'the request ended before its body did')));
  });
}
