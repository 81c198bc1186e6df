import type { types } from 'mediasoup';
import { Observable, Subject, mergeMap } from 'rxjs';
import { createLogger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Peer } from '../sfu/Peer.ts';
import type { Room } from '../sfu/Room.ts';
import type { Rooms } from '../sfu/Rooms.ts';
import type { Frame } from './Frame.ts';
import { FrameTap, type FrameTapOptions } from './FrameTap.ts';
import type { LaggingDecoders } from './staleRun.ts';

const log = createLogger('media/taps');

/**
 * One video stream to analyse (a tapped producer, or a pulled source: ingest/Sources.ts); `frames$` completes
 * when its producer or source, peer or room goes away.
 */
export interface FrameStream {
  roomId: string;
  peerId: string;
  streamId: string;
  frames$: Observable<Frame>;
}

/**
 * Taps every video producer of every participant being analysed, and hands the streams to whoever
 * analyses them. A participant's consent starts and stops its taps: opting out closes them (their
 * decoders end), opting in taps its video producers again.
 */
export class FrameTaps {
  readonly #taps = new Map<string, FrameTap>();
  readonly #started = new Subject<FrameStream>();
  /** Producers whose taps are being set up: they count against the limit already. */
  readonly #creating = new Set<string>();

  constructor(
    rooms: Rooms,
    private readonly options: FrameTapOptions & {
      /** Streams tapped at once (each may run an ffmpeg); video beyond it is not analysed. */
      maxTaps: number;
    },
    private readonly metrics: Metrics,
    private readonly lagging: LaggingDecoders,
  ) {
    rooms.on('roomCreated', (room) => {
      room.on('producerAdded', (peer, producer) => {
        // A participant not analysed (no grant, or opted out) is never decoded, let alone analysed.
        if (producer.kind === 'video' && peer.analysed) this.#tap(room, peer, producer);
      });
      room.on('analysisChanged', (peer) => {
        if (!peer.analysed) {
          for (const tap of [...this.#taps.values()]) if (tap.ids.roomId === room.id && tap.ids.peerId === peer.id) tap.close();
          return;
        }
        for (const producer of peer.producers.values()) {
          if (producer.kind === 'video' && !this.#taps.has(producer.id)) this.#tap(room, peer, producer);
        }
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

  #tap(room: Room, peer: Peer, producer: types.Producer): void {
    if (this.#creating.has(producer.id)) return;
    if (this.#taps.size + this.#creating.size >= this.options.maxTaps) {
      log.warn('tap limit reached; stream not analysed', { producerId: producer.id, maxTaps: this.options.maxTaps });
      return;
    }
    this.#creating.add(producer.id);
    const ids = { roomId: room.id, peerId: peer.id };
    FrameTap.create(room.router, producer, ids, this.options, this.metrics, this.lagging).finally(() => this.#creating.delete(producer.id)).then(
      (tap) => {
        // The participant may have opted out (or left) while its tap was being set up.
        if (!peer.analysed || peer.closed) {
          tap.close();
          return;
        }
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
