/**
 * What each client address holds, against a limit: its connections (each one its own item), or the distinct
 * rooms its peers are in (every peer of one room is the same item). One address cannot take what all share
 * (MAX_ROOMS, the connection table), however many sockets it opens.
 */
export class AddressQuota {
  /** address -> item -> how many holders of the item. */
  readonly #held = new Map<string, Map<string, number>>();

  constructor(readonly limit: number) {}

  /** Whether the address holds `limit` items already: a new item would be refused. */
  full(address: string): boolean {
    return (this.#held.get(address)?.size ?? 0) >= this.limit;
  }

  /** Takes `item` for `address`; false (and nothing taken) when it is a new item and the address is full. */
  take(address: string, item: string): boolean {
    const items = this.#held.get(address) ?? new Map<string, number>();
    const holders = items.get(item) ?? 0;
    if (holders === 0 && items.size >= this.limit) return false;
    items.set(item, holders + 1);
    this.#held.set(address, items);
    return true;
  }

  /** Gives back one hold of `item`; the address is forgotten once it holds nothing. */
  give(address: string, item: string): void {
    const items = this.#held.get(address);
    const holders = items?.get(item);
    if (!items || holders === undefined) return;
    if (holders > 1) items.set(item, holders - 1);
    else items.delete(item);
    if (items.size === 0) this.#held.delete(address);
  }

  /** Addresses holding anything (a bound on this table's own size: it empties as they leave). */
  get addresses(): number {
    return this.#held.size;
  }
}
