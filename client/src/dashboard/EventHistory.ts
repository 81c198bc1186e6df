import type { AffectStreamEvent } from '../../../protocol/affect-event.ts';

/**
 * The events a dashboard keeps: the last `perPeer` of each participant, so that a long session
 * cannot grow the page's memory without bound (at ~15 events a second, 3000 is over 3 minutes).
 */
export class EventHistory {
  readonly #byPeer = new Map<string, { order: number; event: AffectStreamEvent }[]>();
  #received = 0;

  constructor(readonly perPeer = 3000) {}

  add(event: AffectStreamEvent): void {
    const events = this.#byPeer.get(event.peerId) ?? [];
    events.push({ order: this.#received++, event });
    if (events.length > this.perPeer) events.splice(0, events.length - this.perPeer);
    this.#byPeer.set(event.peerId, events);
  }

  /** Events received in all, kept or not. */
  get received(): number {
    return this.#received;
  }

  peers(): string[] {
    return [...this.#byPeer.keys()];
  }

  of(peerId: string): AffectStreamEvent[] {
    return (this.#byPeer.get(peerId) ?? []).map((e) => e.event);
  }

  /** Every kept event, in the order they arrived. */
  all(): AffectStreamEvent[] {
    return [...this.#byPeer.values()]
      .flat()
      .sort((a, b) => a.order - b.order)
      .map((e) => e.event);
  }
}
