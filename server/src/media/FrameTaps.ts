import type { types } from 'mediasoup';
import { Observable, Subject, mergeMap } from 'rxjs';
import { createLogger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Rooms } from '../sfu/Rooms.ts';
import type { Frame } from './Frame.ts';
import { FrameTap, type FrameTapOptions } from './FrameTap.ts';

const log = createLogger('media/taps');

/** One tapped video stream; `frames$` completes when its producer, peer or room goes away. */
export interface FrameStream {
  roomId: string;
  peerId: string;
  streamId: string;
  frames$: Observable<Frame>;
}

/** Taps every video producer of every room, and hands the streams to whoever analyses them. */
export class FrameTaps {
  readonly #taps = new Map<string, FrameTap>();
  readonly #started = new Subject<FrameStream>();
  /** Taps being set up: they count against the limit already. */
  #creating = 0;

  constructor(
    rooms: Rooms,
    private readonly options: FrameTapOptions & {
      /** Streams tapped at once (each may run an ffmpeg); video beyond it is not analysed. */
      maxTaps: number;
    },
    private readonly metrics: Metrics,
  ) {
    rooms.on('roomCreated', (room) => {
      room.on('producerAdded', (peer, producer) => {
        // A participant not granted analysis is never decoded, let alone analysed.
        if (producer.kind !== 'video' || !peer.analysed) return;
        this.#tap(room.router, producer, { roomId: room.id, peerId: peer.id });
      });
    });
  }

  get size(): number {
    return this.#taps.size;
  }

  get(streamId: string): FrameTap | undefined {
    return this.#taps.get(streamId);
  }

  values(): IterableIterator<FrameTap> {
    return this.#taps.values();
  }

  /** The streams being tapped now, then each new one as it starts. */
  get streams$(): Observable<FrameStream> {
    return new Observable<FrameStream>((subscriber) => {
      for (const tap of this.#taps.values()) subscriber.next(this.#stream(tap));
      return this.#started.subscribe(subscriber);
    });
  }

  /** Every frame of every stream. */
  get frames$(): Observable<Frame> {
    return this.streams$.pipe(mergeMap((stream) => stream.frames$));
  }

  closeAll(): void {
    for (const tap of [...this.#taps.values()]) tap.close();
    this.#started.complete();
  }

  #tap(router: types.Router, producer: types.Producer, ids: { roomId: string; peerId: string }): void {
    if (this.#taps.size + this.#creating >= this.options.maxTaps) {
      log.warn('tap limit reached; stream not analysed', { producerId: producer.id, maxTaps: this.options.maxTaps });
      return;
    }
    this.#creating += 1;
    FrameTap.create(router, producer, ids, this.options, this.metrics).finally(() => (this.#creating -= 1)).then(
      (tap) => {
        this.#taps.set(tap.streamId, tap);
        this.metrics.taps.set(this.#taps.size);
        tap.frames$.subscribe({
          complete: () => {
            this.#taps.delete(tap.streamId);
            this.metrics.taps.set(this.#taps.size);
          },
        });
        this.#started.next(this.#stream(tap));
      },
      (error: unknown) => {
        // The producer may have closed while the tap was being set up; nothing to tap then.
        if (producer.closed) return;
        log.error('could not tap producer', { producerId: producer.id, error });
      },
    );
  }

  #stream(tap: FrameTap): FrameStream {
    return { ...tap.ids, streamId: tap.streamId, frames$: tap.frames$ };
  }
}
