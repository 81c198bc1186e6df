import { randomUUID } from 'node:crypto';
import { Observable, Subject } from 'rxjs';
import type { CreateSourceRequest, SourceInfo } from '../../../protocol/sources.ts';
import type { Placement } from '../cluster/placement.ts';
import { RequestError } from '../errors.ts';
import { HttpRefusal } from '../http/HttpRefusal.ts';
import { createLogger } from '../log.ts';
import type { FrameStream } from '../media/FrameTaps.ts';
import type { Metrics } from '../metrics.ts';
import type { Rooms } from '../sfu/Rooms.ts';
import { PulledSource, type PulledSourceOptions } from './PulledSource.ts';
import { redacted, resolveSource, systemLookup } from './resolveSource.ts';
import { SourceProxy } from './SourceProxy.ts';
import { precheckSourceUrl } from './sourceAddress.ts';

const log = createLogger('ingest/sources');

export interface SourcesOptions extends Omit<PulledSourceOptions, 'httpProxy'> {
  /** Sources on this server, failed ones included (they hold no process, but stay listed until deleted). */
  maxSources: number;
  maxSourcesPerRoom: number;
  /** Several nodes: where a room lives (a source is added on its room's node). */
  place?: (roomId: string) => Promise<Placement>;
}

/** Why a source was not added or found: an HTTP status and words for the client. */
export class SourceRefusal extends HttpRefusal {
  override name = 'SourceRefusal';
}

/**
 * The pulled sources of every room. Each is a participant of its room (a peer without media: the call page
 * lists it, its events carry its peer id, webhooks tell of its joining and leaving) whose frames come from
 * its own ffmpeg instead of a frame tap; `streams$` hands them to the analysis beside the taps' streams.
 * The source leaves the room when it is deleted, gives up, or its room closes.
 */
export class Sources {
  readonly #sources = new Map<string, PulledSource>();
  readonly #started = new Subject<FrameStream>();
  /** Sources being added, by room: they count against the limits already. */
  readonly #pending = new Map<string, number>();
  /** Started with the first source. */
  #proxy: Promise<SourceProxy> | undefined;
  #closed = false;

  constructor(
    private readonly rooms: Rooms,
    private readonly options: SourcesOptions,
    private readonly metrics: Metrics,
  ) {
    this.#count();
  }

  /** Sources listed (failed ones included). */
  get size(): number {
    return this.#sources.size;
  }

  /** Sources with a connection running or being retried (not failed). */
  get active(): number {
    let count = 0;
    for (const source of this.#sources.values()) if (source.state !== 'failed') count += 1;
    return count;
  }

  get(id: string): PulledSource | undefined {
    return this.#sources.get(id);
  }

  /** The streams of the sources pulling now, then each new one as it starts. */
  get streams$(): Observable<FrameStream> {
    return new Observable<FrameStream>((subscriber) => {
      for (const source of this.#sources.values()) if (source.state !== 'failed') subscriber.next(this.#stream(source));
      return this.#started.subscribe(subscriber);
    });
  }

  list(roomId: string): SourceInfo[] {
    return [...this.#sources.values()].filter((source) => source.ids.roomId === roomId).map((source) => source.info);
  }

  /** Checks the URL (resolving it, following and checking its redirects), joins the room and starts pulling. */
  async add(roomId: string, request: CreateSourceRequest, addedBy: string | undefined): Promise<SourceInfo> {
    if (this.#closed) throw new SourceRefusal(503, 'the server is shutting down');
    if (this.options.maxSources === 0) throw new SourceRefusal(503, 'pulled sources are off on this server (MAX_SOURCES=0 or TAP_ENABLED=false)');
    const precheck = precheckSourceUrl(request.url, this.options.policy);
    if (!precheck.ok) throw this.#refused(roomId, request.url, precheck.reason, addedBy);
    const inRoom = this.list(roomId).length + (this.#pending.get(roomId) ?? 0);
    if (inRoom >= this.options.maxSourcesPerRoom) {
      throw new SourceRefusal(429, `room ${roomId} has its limit of ${this.options.maxSourcesPerRoom} sources (MAX_SOURCES_PER_ROOM); delete one first`);
    }
    if (this.#sources.size + this.#pendingTotal() >= this.options.maxSources) {
      throw new SourceRefusal(429, `the server has its limit of ${this.options.maxSources} sources (MAX_SOURCES)`);
    }
    this.#pending.set(roomId, (this.#pending.get(roomId) ?? 0) + 1);
    try {
      return await this.#add(roomId, request, addedBy);
    } finally {
      const left = (this.#pending.get(roomId) ?? 1) - 1;
      if (left > 0) this.#pending.set(roomId, left);
      else this.#pending.delete(roomId);
    }
  }

  async #add(roomId: string, request: CreateSourceRequest, addedBy: string | undefined): Promise<SourceInfo> {
    const placement = this.rooms.get(roomId) || !this.options.place ? undefined : await this.options.place(roomId);
    if (placement && !placement.here) {
      if ('url' in placement) throw new SourceRefusal(409, `room ${roomId} lives on ${placement.url}: add the source there`, { location: placement.url });
      throw new SourceRefusal(503, placement.refused);
    }
    const resolved = await resolveSource(request.url, this.options.policy, this.options.lookup);
    if (!resolved.ok) throw this.#refused(roomId, request.url, resolved.reason, addedBy);
    // A proxy that could not start is tried again with the next source.
    this.#proxy ??= SourceProxy.start(this.options.policy, this.options.lookup ?? systemLookup).catch((error: unknown) => {
      this.#proxy = undefined;
      throw error;
    });
    const proxy = await this.#proxy;
    if (this.#closed) throw new SourceRefusal(503, 'the server is shutting down');
    let joined;
    try {
      joined = await this.rooms.join(roomId, { displayName: request.name, analysed: true });
    } catch (error) {
      if (error instanceof RequestError) throw new SourceRefusal(error.code === 'LIMIT_EXCEEDED' ? 429 : 400, error.message);
      throw error;
    }
    const { room, peer } = joined;
    const ids = { id: randomUUID(), roomId, peerId: peer.id, name: request.name };
    const source = new PulledSource(ids, request.url, { ...this.options, httpProxy: proxy.url }, this.metrics, () => {
      // Given up: it holds nothing any more, and is no longer in the room; it stays listed until deleted.
      if (!peer.closed) room.leave(peer.id);
      this.#count();
    });
    this.#sources.set(ids.id, source);
    // However the peer goes (deleted, room closed at shutdown or by a dead worker), its ffmpeg goes with it;
    // a source that gave up stays listed.
    peer.once('closed', () => {
      if (source.state !== 'failed') this.#forget(source);
    });
    source.start(resolved.value);
    this.#count();
    this.#started.next(this.#stream(source));
    log.info('source added', { sourceId: ids.id, roomId, peerId: peer.id, url: redacted(request.url), addedBy });
    return source.info;
  }

  /** Stops a source and takes it out of its room; false when the room has no such source. */
  remove(roomId: string, id: string): boolean {
    const source = this.#sources.get(id);
    if (!source || source.ids.roomId !== roomId) return false;
    this.#forget(source);
    const room = this.rooms.get(roomId);
    if (room?.peers.has(source.ids.peerId)) room.leave(source.ids.peerId);
    log.info('source deleted', { sourceId: id, roomId });
    return true;
  }

  #forget(source: PulledSource): void {
    if (this.#sources.get(source.ids.id) === source) this.#sources.delete(source.ids.id);
    source.close();
    this.#count();
  }

  closeAll(): void {
    this.#closed = true;
    for (const source of [...this.#sources.values()]) this.remove(source.ids.roomId, source.ids.id);
    this.#started.complete();
    void this.#proxy?.then((proxy) => proxy.close());
  }

  #refused(roomId: string, url: string, reason: string, addedBy: string | undefined): SourceRefusal {
    log.info('source refused', { roomId, url: safeUrl(url), reason, addedBy });
    return new SourceRefusal(422, `URL refused: ${reason}`);
  }

  #pendingTotal(): number {
    let total = 0;
    for (const count of this.#pending.values()) total += count;
    return total;
  }

  #count(): void {
    this.metrics.ingestSessions.set({ kind: 'pull' }, this.active);
  }

  #stream(source: PulledSource): FrameStream {
    return { roomId: source.ids.roomId, peerId: source.ids.peerId, streamId: source.ids.id, frames$: source.frames$ };
  }
}

/** A URL as logged: redacted when it parses, cut short when it does not. */
function safeUrl(text: string): string {
  try {
    return redacted(text);
  } catch {
    return text.slice(0, 200);
  }
}
