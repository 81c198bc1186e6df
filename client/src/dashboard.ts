import { AffectStreamEventSchema, type AffectStreamEvent } from '../../protocol/affect-event.ts';
import type { ParticipantUpdate } from '../../protocol/affect-subscriber.ts';
import { AffectSubscriber } from './AffectSubscriber.ts';
import { toCsv } from './dashboard/csv.ts';
import { EventHistory } from './dashboard/EventHistory.ts';
import { ParticipantCharts } from './dashboard/ParticipantCharts.ts';
import { RoomCharts } from './dashboard/RoomCharts.ts';
import { download, fileTimestamp } from './download.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('subscribe-form');
const server = $<HTMLInputElement>('server');
const room = $<HTMLInputElement>('room');
const token = $<HTMLInputElement>('token');
const status = $<HTMLParagraphElement>('status');
const count = $<HTMLParagraphElement>('event-count');
const participants = $<HTMLElement>('participants');
const openExport = $<HTMLInputElement>('open-export');
/** Charts are redrawn at most this often: events arrive ~15 times a second per participant. */
const REDRAW_MS = 500;
/** An export opened after the fact is read whole: larger files are refused rather than freezing the page. */
const MAX_EXPORT_BYTES = 64 << 20;

type Who = Pick<ParticipantUpdate, 'displayName'> & Partial<Pick<ParticipantUpdate, 'analysed' | 'present'>>;

let subscriber: AffectSubscriber | undefined;
let eventHistory = new EventHistory();
let charts = new Map<string, ParticipantCharts>();
/** Who each peer id is: from the server's participant messages, or from an opened export's names. */
let names = new Map<string, Who>();
let roomCharts: RoomCharts | undefined;
let redraw: ReturnType<typeof setTimeout> | undefined;

$<HTMLParagraphElement>('history-note').textContent =
  `The dashboard keeps the last ${eventHistory.perPeer} events of each participant; the charts and the exports ` +
  'cover those. Times are wall-clock times of this device, from when the frames arrived at the server.';

const nameOf = (peerId: string) => names.get(peerId)?.displayName ?? peerId;

function render(): void {
  redraw = undefined;
  roomCharts ??= new RoomCharts();
  if (!roomCharts.element.isConnected) participants.before(roomCharts.element);
  roomCharts.update(eventHistory.peers().map((peerId) => ({ peerId, displayName: nameOf(peerId), events: eventHistory.of(peerId) })));
  for (const peerId of eventHistory.peers()) {
    let chart = charts.get(peerId);
    if (!chart) {
      chart = new ParticipantCharts(peerId);
      charts.set(peerId, chart);
      participants.append(chart.element);
    }
    chart.name(names.get(peerId));
    chart.update(eventHistory.of(peerId));
  }
  const kept = eventHistory.all().length;
  count.textContent = `${eventHistory.received} events received, ${kept} kept`;
  count.dataset.kept = String(kept);
}

const scheduleRender = () => void (redraw ??= setTimeout(render, REDRAW_MS));

function onEvent(event: AffectStreamEvent): void {
  eventHistory.add(event);
  scheduleRender();
}

function onParticipant(participant: ParticipantUpdate): void {
  names.set(participant.peerId, participant);
  // Names of people who left stay while their events are kept (the charts and exports still show them).
  for (const [peerId, who] of names) if (who.present === false && !eventHistory.peers().includes(peerId)) names.delete(peerId);
  scheduleRender();
}

/** Forgets everything shown, for another room or an opened export. */
function reset(): void {
  subscriber?.close();
  subscriber = undefined;
  for (const chart of charts.values()) chart.destroy();
  charts = new Map();
  roomCharts?.destroy();
  roomCharts = undefined;
  names = new Map();
  eventHistory = new EventHistory(eventHistory.perPeer);
}

async function connect(): Promise<void> {
  reset();
  status.textContent = 'Connecting…';
  try {
    subscriber = await AffectSubscriber.connect({
      url: server.value.replace(/\/+$/, ''),
      token: token.value.trim(),
      subscriptions: [{ roomId: room.value.trim() }],
    });
    subscriber.onParticipant(onParticipant);
    subscriber.onEvent(onEvent);
    subscriber.socket.on('disconnect', () => (status.textContent = `Reconnecting to room ${room.value}…`));
    subscriber.socket.on('connect', () => (status.textContent = `Watching room ${room.value}`));
    status.textContent = `Watching room ${room.value}`;
    $<HTMLDivElement>('exports').hidden = false;
  } catch (error) {
    subscriber = undefined;
    status.textContent = `Could not connect: ${(error as Error).message}`;
  }
}

/** The kept events, each with its participant's display name next to its peer id (the exports' form). */
function namedEvents(): (AffectStreamEvent & { displayName: string })[] {
  return eventHistory.all().map((event) => {
    const named: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(event)) {
      named[key] = value;
      if (key === 'peerId') named.displayName = nameOf(event.peerId);
    }
    return named as AffectStreamEvent & { displayName: string };
  });
}

/** Shows a JSON export of this dashboard (a past call): its events and names, nothing live. */
async function open(file: File): Promise<void> {
  if (file.size > MAX_EXPORT_BYTES) throw new Error(`${file.name} is larger than ${MAX_EXPORT_BYTES >> 20} MB`);
  const raw: unknown = JSON.parse(await file.text());
  if (!Array.isArray(raw)) throw new Error(`${file.name} is not an export of this dashboard (a JSON array of events)`);
  reset();
  let skipped = 0;
  for (const item of raw) {
    const parsed = AffectStreamEventSchema.safeParse(item);
    if (!parsed.success) {
      skipped++;
      continue;
    }
    const displayName = (item as { displayName?: unknown }).displayName;
    if (typeof displayName === 'string' && displayName.length > 0 && displayName.length <= 200) names.set(parsed.data.peerId, { displayName });
    eventHistory.add(parsed.data);
  }
  render();
  $<HTMLDivElement>('exports').hidden = false;
  status.textContent = `Showing ${file.name}: ${raw.length - skipped} events${skipped > 0 ? `, ${skipped} not events of this version, left out` : ''}`;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void connect();
});

openExport.addEventListener('change', () => {
  const file = openExport.files?.[0];
  if (file) open(file).catch((error: Error) => (status.textContent = `Could not open ${file.name}: ${error.message}`));
});

const exportName = (extension: string) => `affect-${room.value || 'export'}-${fileTimestamp()}.${extension}`;
$<HTMLButtonElement>('export-csv').addEventListener('click', () =>
  download(exportName('csv'), new Blob([toCsv(namedEvents())], { type: 'text/csv' })),
);
$<HTMLButtonElement>('export-json').addEventListener('click', () =>
  download(exportName('json'), new Blob([JSON.stringify(namedEvents(), null, 1)], { type: 'application/json' })),
);

// A call page opens this page as dashboard.html#room=...&token=... (in the fragment: never sent to a server).
const params = new URLSearchParams(location.hash.slice(1));
server.value = location.origin;
room.value = params.get('room') ?? '';
token.value = params.get('token') ?? '';
if (room.value && token.value) {
  history.replaceState(null, '', location.pathname); // keep the token out of the address bar and bookmarks
  void connect();
}
