import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import { AffectSubscriber } from './AffectSubscriber.ts';
import { toCsv } from './dashboard/csv.ts';
import { EventHistory } from './dashboard/EventHistory.ts';
import { ParticipantCharts } from './dashboard/ParticipantCharts.ts';
import { download, fileTimestamp } from './download.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('subscribe-form');
const server = $<HTMLInputElement>('server');
const room = $<HTMLInputElement>('room');
const token = $<HTMLInputElement>('token');
const status = $<HTMLParagraphElement>('status');
const count = $<HTMLParagraphElement>('event-count');
const participants = $<HTMLElement>('participants');
/** Charts are redrawn at most this often: events arrive ~15 times a second per participant. */
const REDRAW_MS = 500;

let subscriber: AffectSubscriber | undefined;
let eventHistory = new EventHistory();
let charts = new Map<string, ParticipantCharts>();
let t0 = 0;
let redraw: ReturnType<typeof setTimeout> | undefined;

$<HTMLParagraphElement>('history-note').textContent =
  `The dashboard keeps the last ${eventHistory.perPeer} events of each participant; the charts and the exports ` +
  'cover those. Time is seconds since the first event seen, from the times the frames arrived at the server.';

function render(): void {
  redraw = undefined;
  for (const peerId of eventHistory.peers()) {
    let chart = charts.get(peerId);
    if (!chart) {
      chart = new ParticipantCharts(peerId);
      charts.set(peerId, chart);
      participants.append(chart.element);
    }
    chart.update(eventHistory.of(peerId), t0);
  }
  const kept = eventHistory.all().length;
  count.textContent = `${eventHistory.received} events received, ${kept} kept`;
  count.dataset.kept = String(kept);
}

function onEvent(event: AffectStreamEvent): void {
  t0 ||= event.type === 'affect' ? event.arrivalTime : event.time;
  eventHistory.add(event);
  redraw ??= setTimeout(render, REDRAW_MS);
}

async function connect(): Promise<void> {
  subscriber?.close();
  for (const chart of charts.values()) chart.destroy();
  charts = new Map();
  eventHistory = new EventHistory(eventHistory.perPeer);
  t0 = 0;
  status.textContent = 'Connecting…';
  try {
    subscriber = await AffectSubscriber.connect({
      url: server.value.replace(/\/+$/, ''),
      token: token.value.trim(),
      subscriptions: [{ roomId: room.value.trim() }],
    });
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

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void connect();
});

const exportName = (extension: string) => `affect-${room.value}-${fileTimestamp()}.${extension}`;
$<HTMLButtonElement>('export-csv').addEventListener('click', () =>
  download(exportName('csv'), new Blob([toCsv(eventHistory.all())], { type: 'text/csv' })),
);
$<HTMLButtonElement>('export-json').addEventListener('click', () =>
  download(exportName('json'), new Blob([JSON.stringify(eventHistory.all(), null, 1)], { type: 'application/json' })),
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
