import { readFile } from 'node:fs/promises';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AffectEventSchema, AffectStreamEventSchema, type AffectEvent, type AffectStreamEvent } from '../../protocol/affect-event.ts';
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
function inkedPixels(page: Page, index: number): Promise<number> {
  return page.evaluate((i) => {
    const canvas = document.querySelectorAll<HTMLCanvasElement>('.participant canvas')[i]!;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let inked = 0;
    for (let p = 3; p < data.length; p += 4) if (data[p]! > 0) inked++;
    return inked;
  }, index);
}

beforeAll(async () => {
  const faceVideo = await faceVideoY4m();
  app = await startTestServer();
  browser = await launchBrowser(faceVideo);
  call = await browser.newPage();
  peerId = await joinCall(call, app.url, ROOM, 'Face');
});

afterAll(async () => {
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
    let kept = -1;
    await expect
      .poll(async () => {
        kept = Number(await dashboard.getAttribute('#event-count', 'data-kept'));
        json = (JSON.parse(await exported('#export-json', 'events.json')) as unknown[]).map((e) => AffectStreamEventSchema.parse(e));
        return json.length - kept;
      })
      .toBe(0);
    const [header, ...rows] = parseCsv(await exported('#export-csv', 'events.csv'));
    expect(json).toHaveLength(kept);
    expect(rows).toHaveLength(kept);

    const affect = json.filter((e): e is AffectEvent => e.type === 'affect');
    expect(affect.length).toBeGreaterThan(0);
    const columns = schemaColumns(affect[0]!);
    expect(header).toEqual(expect.arrayContaining(columns));
    rows.forEach((row, i) => {
      const event = json[i]!;
      const cell = (column: string) => row[header!.indexOf(column)];
      expect(row).toHaveLength(header!.length);
      expect(cell('seq')).toBe(String(event.seq));
      expect(cell('peerId')).toBe(event.peerId);
      if (event.type !== 'affect') return;
      expect(Number(cell('valence'))).toBe(event.valence);
      expect(cell('expression.label')).toBe(event.expression.label);
      for (const [au, { p, active }] of Object.entries(event.aus)) {
        expect(Number(cell(`aus.${au}.p`))).toBe(p);
        expect(cell(`aus.${au}.active`)).toBe(String(active));
      }
    });
  });
});
