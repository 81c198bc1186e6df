import type { AffectStreamEvent } from '../../../protocol/affect-event.ts';

type Row = Map<string, string | number | boolean>;

/** An event as dotted columns: { box: { x } } -> box.x, { aus: { AU12: { p } } } -> aus.AU12.p. */
function flatten(value: unknown, prefix: string, row: Row): Row {
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, row);
  } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    row.set(prefix, value);
  }
  return row;
}

function cell(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * One row per event; the columns are every field of the events flattened, in the order first seen
 * (labels are the model's, so the columns come from the events, not a fixed list). Fields an event
 * lacks (a face-lost event has no valence) are empty.
 */
export function toCsv(events: AffectStreamEvent[]): string {
  const rows = events.map((event) => flatten(event, '', new Map()));
  const columns = [...new Set(rows.flatMap((row) => [...row.keys()]))];
  const lines = [columns.map(cell).join(','), ...rows.map((row) => columns.map((c) => cell(row.get(c))).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
