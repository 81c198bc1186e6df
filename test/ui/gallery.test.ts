import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faceVideoVp8, replayIntoRoom, type ReplayedStream } from '../../bench/lib/rtpReplay.ts';
import type { App } from '../../server/src/app.ts';
import { joinCall, launchBrowser, renderedFrames } from '../helpers/browser.ts';
import { faceVideoY4m } from '../helpers/faceVideo.ts';
import { startTestServer } from '../helpers/server.ts';
import { artifactPath } from './artifacts.ts';

const ROOM = 'gallery';

let app: App;
let browser: BrowserContext;
let page: Page;
let selfId: string;
const replays: ReplayedStream[] = [];

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Where everything is on the page, in CSS pixels of the viewport, measured after two animation frames: a resize
 * reaches the gallery through a ResizeObserver, whose new layout is only in place a rendering step later.
 */
function geometry(page: Page) {
  return page.evaluate(async () => {
    for (let i = 0; i < 2; i++) await new Promise(requestAnimationFrame);
    const box = (e: Element) => {
      const r = e.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    };
    return {
      viewport: { width: innerWidth, height: innerHeight },
      scroll: { width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight },
      stage: box(document.getElementById('tiles')!),
      controls: box(document.getElementById('controls')!),
      tiles: [...document.querySelectorAll('.tile')].map((t) => ({
        peerId: (t as HTMLElement).dataset.peerId!,
        self: t.classList.contains('self'),
        name: t.querySelector('figcaption')!.textContent,
        ...box(t),
      })),
    };
  });
}

const inside = (inner: Box, outer: Box) =>
  inner.x >= outer.x - 0.5 &&
  inner.y >= outer.y - 0.5 &&
  inner.x + inner.width <= outer.x + outer.width + 0.5 &&
  inner.y + inner.height <= outer.y + outer.height + 0.5;
const overlap = (a: Box, b: Box) =>
  Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x) > 0.5 && Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y) > 0.5;

/** Every tile inside the stage and the window, none over another, nothing to scroll to. */
async function expectFits(page: Page, count: number) {
  await expect.poll(async () => (await geometry(page)).tiles.length, { timeout: 20_000 }).toBe(count);
  // The layout has reacted (to a resize, a tile added) once two readings a few frames apart agree.
  let g = await geometry(page);
  await expect
    .poll(
      async () => {
        const previous = JSON.stringify(g);
        g = await geometry(page);
        return JSON.stringify(g) === previous;
      },
      { timeout: 10_000 },
    )
    .toBe(true);
  expect(g.scroll.width).toBeLessThanOrEqual(g.viewport.width);
  expect(g.scroll.height).toBeLessThanOrEqual(g.viewport.height);
  expect(inside(g.controls, { x: 0, y: 0, ...g.viewport })).toBe(true);
  for (const tile of g.tiles) {
    expect(inside(tile, g.stage), `${tile.name} inside the stage`).toBe(true);
    expect(tile.width).toBeGreaterThan(100);
  }
  for (let i = 0; i < g.tiles.length; i++) {
    for (let j = i + 1; j < g.tiles.length; j++) expect(overlap(g.tiles[i]!, g.tiles[j]!)).toBe(false);
  }
  return g;
}

const peerOf = (replay: ReplayedStream) => [...app.rooms.get(ROOM)!.peers.values()].find((p) => p.producers.has(replay.producerId))!;

/**
 * Adds replayed participants (the face video as RTP) up to `count` in all, and waits for their video in
 * the page. Those after the second opt out of analysis (as a participant can): 2 shared cores cannot
 * analyse 9 streams next to a Chromium decoding 8, and their tiles show the other state.
 */
async function participants(count: number) {
  const file = await faceVideoVp8();
  while (replays.length + 1 < count) {
    const replay = await replayIntoRoom(app, ROOM, file, 1000 + replays.length);
    replays.push(replay);
    if (replays.length > 2) peerOf(replay).setAnalysed(false);
  }
  const ids = [...app.rooms.get(ROOM)!.peers.keys()];
  expect(ids).toHaveLength(count);
  for (const id of ids) await expect.poll(() => renderedFrames(page, id), { timeout: 30_000 }).toBeGreaterThan(0);
}

/** Waits until the tile of `peerId` shows an expression label (an affect event has been drawn on it). */
async function labelled(peerId: string) {
  await expect.poll(() => page.locator(`[data-peer-id="${peerId}"] .affect-labels`).textContent(), { timeout: 45_000 }).toMatch(/^Face 1: /);
}

/**
 * A screenshot once each analysed participant's tile has had its overlay (on a loaded machine some may
 * have faded again by the time it is taken: a face's overlay fades a second after its last event).
 */
async function screenshot(name: string) {
  for (const peer of app.rooms.get(ROOM)!.peers.values()) if (peer.analysed) await labelled(peer.id);
  // No tile hovered or focused (those show their full panel), unless the test means it.
  await page.mouse.move(0, 0);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.screenshot({ path: await artifactPath(name) });
}

beforeAll(async () => {
  const faceVideo = await faceVideoY4m();
  // 5 analyses a second: 9 analysed streams and 2 Chromium decoders share 2 cores with the rest of the tests.
  app = await startTestServer({ TAP_FPS: '5' });
  browser = await launchBrowser(faceVideo);
  page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  selfId = await joinCall(page, app.url, ROOM, 'Ada Lovelace');
});

afterAll(async () => {
  for (const replay of replays) replay.stop();
  await browser?.close();
  await app?.close();
});

describe('the call page gallery', { timeout: 180_000 }, () => {
  it('shows one participant full size, with name and analysis state', async () => {
    await participants(1);
    await labelled(selfId);
    const g = await expectFits(page, 1);
    // Alone: the self view has the stage to itself (less the 4:3 letterbox).
    expect(Math.max(g.tiles[0]!.width / g.stage.width, g.tiles[0]!.height / g.stage.height)).toBeGreaterThan(0.98);
    expect(g.tiles[0]!.name).toBe('Ada Lovelace (you)');
    expect(await page.getAttribute(`[data-peer-id="${selfId}"]`, 'data-analysed')).toBe('true');
    expect(await page.textContent(`[data-peer-id="${selfId}"] .analysis`)).toBe('Analysed');
    await screenshot('gallery-1.png');
  });

  it('puts the other participant large and the self view small beside it', async () => {
    await participants(2);
    const otherPeer = peerOf(replays[0]!);
    await labelled(otherPeer.id);
    const g = await expectFits(page, 2);
    const self = g.tiles.find((t) => t.self)!;
    const them = g.tiles.find((t) => !t.self)!;
    expect(them.name).toBe(otherPeer.displayName);
    expect(self.width * self.height).toBeLessThan((them.width * them.height) / 4);
    await screenshot('gallery-2.png');
  });

  it('fits 4 participants', async () => {
    await participants(4);
    await expectFits(page, 4);
    await screenshot('gallery-4.png');
  });

  it('fits 9 participants on 1280x800 without scrolling, small tiles with the compact overlay', async () => {
    await participants(9);
    const g = await expectFits(page, 9);
    const names = g.tiles.map((t) => t.name);
    for (const peer of app.rooms.get(ROOM)!.peers.values()) expect(names).toContain(peer.id === selfId ? 'Ada Lovelace (you)' : peer.displayName);
    const remotePeer = peerOf(replays[1]!);
    for (const peer of app.rooms.get(ROOM)!.peers.values()) {
      expect(await page.getAttribute(`[data-peer-id="${peer.id}"]`, 'data-analysed')).toBe(String(peer.analysed));
    }
    await labelled(remotePeer.id);
    const canvas = page.locator(`[data-peer-id="${remotePeer.id}"] canvas.overlay`);
    await expect.poll(() => canvas.getAttribute('data-detail')).toBe('compact');
    await screenshot('gallery-9.png');
    // Hovering a small tile shows its full panel.
    await page.hover(`[data-peer-id="${remotePeer.id}"]`);
    await expect.poll(() => canvas.getAttribute('data-detail')).toBe('full');
    await page.mouse.move(0, 0);
    await expect.poll(() => canvas.getAttribute('data-detail')).toBe('compact');
  });

  it('pins a tile from the keyboard: it takes the main area with its full overlay, the others go to the strip', async () => {
    const target = peerOf(replays[0]!);
    const tile = `[data-peer-id="${target.id}"]`;
    await page.locator(`${tile} button.pin`).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getAttribute(`${tile} button.pin`, 'aria-pressed')).toBe('true');
    const g = await expectFits(page, 9);
    const pinned = g.tiles.find((t) => t.peerId === target.id)!;
    for (const t of g.tiles) if (t !== pinned) expect(t.width).toBeLessThan(pinned.width / 2);
    await page.mouse.move(0, 0);
    await expect.poll(() => page.getAttribute(`${tile} canvas.overlay`, 'data-detail')).toBe('full');
    await screenshot('gallery-9-pinned.png');
    await page.locator(`${tile} button.pin`).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getAttribute(`${tile} button.pin`, 'aria-pressed')).toBe('false');
  });

  it('fits 9 participants on a phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await expectFits(page, 9);
    await screenshot('gallery-9-phone.png');
    // The device choice opens above the controls, inside the phone's screen, and is reached from the keyboard.
    await page.locator('#devices-menu summary').focus();
    await page.keyboard.press('Enter');
    const menu = await page.locator('#devices').boundingBox();
    expect(menu && inside(menu, { x: 0, y: 0, width: 390, height: 844 })).toBe(true);
    await page.keyboard.press('Enter');
    expect(await page.locator('#devices').isVisible()).toBe(false);
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
