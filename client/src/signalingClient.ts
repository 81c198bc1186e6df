import { io, type Socket } from 'socket.io-client';
import type { Ack, RequestName, RequestPayload, ResponseData, ServerEventName, ServerEvents } from '../../protocol/signaling.ts';

export class SignalingError extends Error {
  override name = 'SignalingError';
  constructor(
    readonly code: string,
    message: string,
    /** MOVED: the URL of the node the room lives on. */
    readonly location?: string,
  ) {
    super(message);
  }
}

/** Typed request/ack calls and server events over one socket.io connection. */
export class SignalingClient {
  readonly socket: Socket;

  /** `token`: a participant token, where the server requires one (CALL_AUTH=token). */
  constructor(token?: string, url: string = location.origin) {
    this.socket = io(url, { transports: ['websocket'], ...(token === undefined ? {} : { auth: { token } }) });
  }

  /** Resolves once connected; rejects with the server's reason when it refuses the connection (e.g. a bad token). */
  connected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        this.socket.off('connect', onConnect);
        reject(new SignalingError('UNAUTHORIZED', error.message));
      };
      const onConnect = () => {
        this.socket.off('connect_error', onError);
        resolve();
      };
      this.socket.once('connect', onConnect);
      this.socket.once('connect_error', onError);
    });
  }

  request<N extends RequestName>(name: N, payload: RequestPayload<N>, timeoutMs = 10_000): Promise<ResponseData[N]> {
    return new Promise((resolve, reject) => {
      this.socket.timeout(timeoutMs).emit(name, payload, (error: Error | null, ack: Ack<ResponseData[N]>) => {
        if (error) reject(new SignalingError('TIMEOUT', `${name} got no answer in ${timeoutMs} ms`));
        else if (ack.ok) resolve(ack.data);
        else reject(new SignalingError(ack.error.code, ack.error.message, ack.error.location));
      });
    });
  }

  on<E extends ServerEventName>(event: E, listener: (data: ServerEvents[E]) => void): void {
    this.socket.on(event as string, listener as (data: unknown) => void);
  }

  close(): void {
    this.socket.close();
  }
}
