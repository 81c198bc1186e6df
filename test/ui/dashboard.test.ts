import { readFile } from 'node:fs/promises';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AffectEventSchema, AffectStreamEventSchema, type AffectEvent, type AffectStreamEvent } from '../../protocol/affect-event.ts';
import { faceVideoVp8, replayIntoRoom, type ReplayedStream } from '../../bench/lib/rtpReplay.ts';
import { PALETTE } from '../../client/src/dashboard/charts.ts';
import type { App } from '../../server/src/app.ts';
import { joinCall, launchBrowser } from '../helpers/browser.ts';
import { faceVideoY4m } from '../helpers/faceVideo.ts';
import { startTestServer } from '../helpers/server.ts';
import { artifactPath } from './artifacts.ts';

const ROOM = 'dashboard';

let app: App;
let browser: BrowserContext;
let call: Page;
let dashboard: Page;
let peerId: string;
/** A second participant: the face video replayed as RTP (named replay-<ssrc> by the replay). */
let replay: ReplayedStream;
let replayPeerId: string;

/** Splits CSV text (RFC 4180: quoted cells may hold commas, quotes and newlines) into rows of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n') row.push(cell), rows.push(row), (row = []), (cell = '');
    else if (c !== '\r') cell += c;
  }
  return rows;
}

/** The columns an affect event has by the schema: its fields, nested objects and label records flattened. */
function schemaColumns(event: AffectEvent): string[] {
  const columns: string[] = [];
  for (const [key, field] of Object.entries(AffectEventSchema.shape)) {
    // An optional field this event does not have (sourceTime: recorded files only) is no column of it.
    if (!(key in event) && field.safeParse(undefined).success) continue;
    const shape = (field as { shape?: Record<string, unknown> }).shape;
    if (key === 'expression') {
      columns.push('expression.label', ...Object.keys(event.expression.probs).map((l) => `expression.probs.${l}`));
    } else if (key === 'aus') {
      columns.push(...Object.keys(event.aus).flatMap((au) => [`aus.${au}.p`, `aus.${au}.active`]));
    } else if (shape) {
      columns.push(...Object.keys(shape).map((inner) => `${key}.${inner}`));
    } else {
      columns.push(key);
    }
  }
  return columns;
}

/** The number of pixels of a chart canvas that are drawn on (not transparent). */
function inkedPixels(page: Page, index: number, selector = '.participant canvas'): Promise<number> {
  return page.evaluate(([i, s]) => {
    const canvas = document.querySelectorAll<HTMLCanvasElement>(s)[i]!;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let inked = 0;
    for (let p = 3; p < data.length; p += 4) if (data[p]! > 0) inked++;
    return inked;
  }, [index, selector] as const);
}

/** Pixels of a chart canvas close to `colour` (#rrggbb): a line or bar drawn in it. */
function colouredPixels(page: Page, selector: string, index: number, colour: string): Promise<number> {
  return page.evaluate(
    ({ selector, index, colour }) => {
      const canvas = document.querySelectorAll<HTMLCanvasElement>(selector)[index]!;
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let p = 0; p < data.length; p += 4) {
        if (data[p + 3]! > 200 && Math.abs(data[p]! - r!) < 30 && Math.abs(data[p + 1]! - g!) < 30 && Math.abs(data[p + 2]! - b!) < 30) n++;
      }
      return n;
    },
    { selector, index, colour },
  );
}

beforeAll(async () => {
  const faceVideo = await faceVideoY4m();
  app = await startTestServer();
  browser = await launchBrowser(faceVideo);
  call = await browser.newPage();
  peerId = await joinCall(call, app.url, ROOM, 'Face');
  replay = await replayIntoRoom(app, ROOM, await faceVideoVp8(), 4242);
  replayPeerId = [...app.rooms.get(ROOM)!.peers.values()].find((p) => p.producers.has(replay.producerId))!.id;
});

afterAll(async () => {
  replay?.stop();
  await browser?.close();
  await app?.close();
});

describe('the affect dashboard', () => {
  it('opens from the call with a fresh token and charts the participant\'s events', async () => {
    const opened = browser.waitForEvent('page');
    await call.click('#open-dashboard');
    dashboard = await opened;
    await dashboard.setViewportSize({ width: 1100, height: 1100 });
    await dashboard.waitForSelector(`.participant[data-peer-id="${peerId}"]`, { timeout: 10_000 });
    // The token travelled in the fragment, which the page then drops from the address bar.
    expect(dashboard.url()).toMatch(/\/dashboard\.html$/);
    expect(await dashboard.inputValue('#room')).toBe(ROOM);
    await expect
      .poll(async () => Number(await dashboard.getAttribute('#event-count', 'data-kept')), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(30);
    // All three charts have drawn, and their text alternatives describe the data.
    for (const chart of [0, 1, 2]) expect(await inkedPixels(dashboard, chart)).toBeGreaterThan(2000);
    const labels = await dashboard.locator('.participant canvas').evaluateAll((cs) => cs.map((c) => c.getAttribute('aria-label')));
    expect(labels[1]).toMatch(/^Expression shares: .*\d+%/);
    expect(labels[2]).toMatch(/^Action units active: AU1 inner brow raiser \d+%/);
    expect(await dashboard.textContent('#history-note')).toMatch(/last \d+ events of each participant/);
  });

  it('names the participants as they joined, and shows the room side by side over wall-clock time', async () => {
    const section = (id: string) => `.participant[data-peer-id="${id}"]`;
    await dashboard.waitForSelector(section(replayPeerId), { timeout: 20_000 });
    await expect.poll(() => dashboard.textContent(`${section(peerId)} h2`)).toBe('Face');
    expect(await dashboard.textContent(`${section(peerId)} .participant-state`)).toBe(`peer ${peerId} · analysed`);
    await expect.poll(() => dashboard.textContent(`${section(replayPeerId)} h2`)).toBe('replay-4242');
    // The room view: a valence and an arousal line per person, their expression shares, a summary.
    await expect
      .poll(() => dashboard.textContent('.room-summary'), { timeout: 10_000 })
      .toMatch(/^2 participants analysed, \d\d:\d\d:\d\d–\d\d:\d\d:\d\d · room mean valence -?\d\.\d\d, arousal -?\d\.\d\d · most common expression \S+ \(\d+%\) · most positive (Face|replay-4242) \(-?\d\.\d\d\), least (Face|replay-4242)/);
    for (const chart of [0, 1, 2]) expect(await inkedPixels(dashboard, chart, '.room-view canvas')).toBeGreaterThan(2000);
    expect(await dashboard.locator('.room-view canvas').nth(2).getAttribute('aria-label')).toMatch(
      /^Expression shares: (Face|replay-4242) mostly \S+ \(\d+%\); (Face|replay-4242) mostly/,
    );
    // One line per person in each of the valence and arousal charts: both people's colours are drawn in each.
    for (const chart of [0, 1]) {
      for (const colour of PALETTE.slice(0, 2)) expect(await colouredPixels(dashboard, '.room-view canvas', chart, colour)).toBeGreaterThan(100);
    }
    await dashboard.screenshot({ path: await artifactPath('dashboard.png'), fullPage: true });
  });

  it('fits a phone screen', async () => {
    await dashboard.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => dashboard.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await dashboard.screenshot({ path: await artifactPath('dashboard-phone.png'), fullPage: true });
    await dashboard.setViewportSize({ width: 1100, height: 1100 });
  });

  it('exports the events as CSV, one row per event with the schema\'s columns, and as JSON', async () => {
    const exported = async (button: string, name: string) => {
      const download = dashboard.waitForEvent('download');
      await dashboard.click(button);
      const file = await artifactPath(name);
      await (await download).saveAs(file);
      return readFile(file, 'utf8');
    };
    // Leave the call so that no events arrive between the two exports: the server then closes the
    // dashboard's connection, its token being the participant's.
    await call.click('#leave');
    await expect.poll(() => dashboard.textContent('#status'), { timeout: 10_000 }).toMatch(/^Reconnecting/);
    // The count is redrawn a moment after the last event (REDRAW_MS): the export holds every kept event once it is.
    let json: AffectStreamEvent[] = [];
    let raw: { peerId: string; displayName: string }[] = [];
    let kept = -1;
    await expect
      .poll(async () => {
        kept = Number(await dashboard.getAttribute('#event-count', 'data-kept'));
        raw = JSON.parse(await exported('#export-json', 'events.json')) as typeof raw;
        json = raw.map((e) => AffectStreamEventSchema.parse(e));
        return json.length - kept;
      })
      .toBe(0);
    // Every event carries its participant's display name, right after the peer id.
    const nameOf = { [peerId]: 'Face', [replayPeerId]: 'replay-4242' };
    for (const event of raw) expect(event.displayName).toBe(nameOf[event.peerId]);
    expect(Object.keys(raw[0]!).indexOf('displayName')).toBe(Object.keys(raw[0]!).indexOf('peerId') + 1);
    expect(new Set(raw.map((e) => e.peerId))).toEqual(new Set([peerId, replayPeerId]));
    const [header, ...rows] = parseCsv(await exported('#export-csv', 'events.csv'));
    expect(json).toHaveLength(kept);
    expect(rows).toHaveLength(kept);

    const affect = json.filter((e): e is AffectEvent => e.type === 'affect');
    expect(affect.length).toBeGreaterThan(0);
    const columns = schemaColumns(affect[0]!);
    expect(header).toEqual(expect.arrayContaining(columns));
    expect(header!.indexOf('displayName')).toBe(header!.indexOf('peerId') + 1);
    rows.forEach((row, i) => {
      const event = json[i]!;
      const cell = (column: string) => row[header!.indexOf(column)];
      expect(row).toHaveLength(header!.length);
      expect(cell('seq')).toBe(String(event.seq));
      expect(cell('peerId')).toBe(event.peerId);
      expect(cell('displayName')).toBe(nameOf[event.peerId]);
      if (event.type !== 'affect') return;
      expect(Number(cell('valence'))).toBe(event.valence);
      expect(cell('expression.label')).toBe(event.expression.label);
      for (const [au, { p, active }] of Object.entries(event.aus)) {
        expect(Number(cell(`aus.${au}.p`))).toBe(p);
        expect(cell(`aus.${au}.active`)).toBe(String(active));
      }
    });
  });

  it('shows an export after the fact: the same events, names and room view, nothing live', async () => {
    const kept = Number(await dashboard.getAttribute('#event-count', 'data-kept'));
    const later = await browser.newPage();
    try {
      await later.setViewportSize({ width: 1100, height: 1100 });
      await later.goto(`${app.url}/dashboard.html`);
      await later.setInputFiles('#open-export', await artifactPath('events.json'));
      await expect.poll(() => later.getAttribute('#event-count', 'data-kept'), { timeout: 10_000 }).toBe(String(kept));
      expect(await later.textContent('#status')).toBe(`Showing events.json: ${kept} events`);
      expect(await later.textContent(`.participant[data-peer-id="${peerId}"] h2`)).toBe('Face');
      expect(await later.textContent(`.participant[data-peer-id="${replayPeerId}"] h2`)).toBe('replay-4242');
      expect(await later.textContent('.room-summary')).toMatch(/^2 participants analysed, /);
      for (const chart of [0, 1, 2]) expect(await inkedPixels(later, chart, '.room-view canvas')).toBeGreaterThan(2000);
      await later.screenshot({ path: await artifactPath('dashboard-from-export.png'), fullPage: true });
    } finally {
      await later.close();
    }
  });
});
