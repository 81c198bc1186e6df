import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import type { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AffectEvent } from '../../protocol/affect-event.ts';
import { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import { BOX_COLOUR } from '../../client/src/overlay/drawFace.ts';
import type { App } from '../../server/src/app.ts';
import { joinCall, launchBrowser } from '../helpers/browser.ts';
import { faceVideoY4m } from '../helpers/faceVideo.ts';
import { subscribeToRoom } from '../helpers/roomSubscriber.ts';
import { startTestServer } from '../helpers/server.ts';
import { artifactPath } from './artifacts.ts';

const run = promisify(execFile);
const ROOM = 'overlay';
/** Where the face is in the test clip (fractions of the frame, unmirrored): measured on its frames. */
const FACE_CENTRE = { x: 0.52, y: 0.56 };

let app: App;
let browser: BrowserContext;
let page: Page;
let peerId: string;
let joinedAt: number;
let subscriber: AffectSubscriber;
const events: AffectEvent[] = [];

const tile = () => `[data-peer-id="${peerId}"]`;

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The bounding rectangle of the overlay canvas's pixels in the box colour, in CSS pixels, and the canvas size. */
function boxPixels(page: Page, selector: string, colour: string): Promise<{ rect: Rect | null; width: number; height: number }> {
  return page.evaluate(
    ({ selector, colour }) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`${selector} canvas.overlay`)!;
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
      const { data, width, height } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let i = 0; i < data.length; i += 4) {
        const near = Math.abs(data[i]! - r!) < 40 && Math.abs(data[i + 1]! - g!) < 40 && Math.abs(data[i + 2]! - b!) < 40;
        if (!near || data[i + 3]! < 200) continue;
        const x = (i / 4) % width;
        const y = Math.floor(i / 4 / width);
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
      }
      const scale = canvas.width / canvas.clientWidth;
      const rect = x1 < 0 ? null : { x: x0 / scale, y: y0 / scale, w: (x1 - x0 + 1) / scale, h: (y1 - y0 + 1) / scale };
      return { rect, width: canvas.clientWidth, height: canvas.clientHeight };
    },
    { selector, colour },
  );
}

/** Where the server's box for `event` should be on a tile of `width` x `height` (4:3 video in a 4:3 tile). */
function onScreen(event: AffectEvent, width: number, height: number, mirrored: boolean): Rect {
  const x = mirrored ? 1 - event.box.x - event.box.w : event.box.x;
  return { x: x * width, y: event.box.y * height, w: event.box.w * width, h: event.box.h * height };
}

/** A counter's value summed over its labels. */
async function total(counter: Counter): Promise<number> {
  return (await counter.get()).values.reduce((sum, { value }) => sum + value, 0);
}

function iou(a: Rect, b: Rect): number {
  const w = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  return (w * h) / (a.w * a.h + b.w * b.h - w * h);
}

beforeAll(async () => {
  const faceVideo = await faceVideoY4m();
  app = await startTestServer();
  subscriber = await subscribeToRoom(app.url, await app.subscriberToken({ room: ROOM }, 300), ROOM, (event) =>
    void (event.type === 'affect' && events.push(event)),
  );
  browser = await launchBrowser(faceVideo);
  page = await browser.newPage();
  await page.setViewportSize({ width: 900, height: 900 });
  peerId = await joinCall(page, app.url, ROOM, 'Face');
  joinedAt = Date.now();
});

afterAll(async () => {
  subscriber?.close();
  await browser?.close();
  await app?.close();
});

describe('the call page overlay', () => {
  it('draws a box over the face and the expression label within 5 s of joining', async () => {
    const labels = page.locator(`${tile()} .affect-labels`);
    await expect.poll(() => labels.textContent(), { timeout: 5000 - (Date.now() - joinedAt), interval: 100 }).toMatch(
      /^Face 1: \S+ \d+%/,
    );
    console.log(`overlay label ${Date.now() - joinedAt} ms after joining: "${await labels.textContent()}"`);
    const label = (await labels.textContent())!.match(/^Face 1: (\S+)/)![1];
    expect(events.map((e) => e.expression.label)).toContain(label);

    const { rect, width, height } = await boxPixels(page, tile(), BOX_COLOUR);
    expect(rect).not.toBeNull();
    // The self view is mirrored: the server's box, flipped left-right.
    const expected = onScreen(events.at(-1)!, width, height, true);
    console.log(`overlay box ${JSON.stringify(rect)}, server box on screen ${JSON.stringify(expected)}`);
    expect(iou(rect!, expected)).toBeGreaterThan(0.7);
    // ... and it is where the face is in the clip.
    const faceX = (1 - FACE_CENTRE.x) * width;
    const faceY = FACE_CENTRE.y * height;
    expect(faceX).toBeGreaterThan(rect!.x);
    expect(faceX).toBeLessThan(rect!.x + rect!.w);
    expect(faceY).toBeGreaterThan(rect!.y);
    expect(faceY).toBeLessThan(rect!.y + rect!.h);
    await page.screenshot({ path: await artifactPath('call.png'), fullPage: true });
  });

  it('fits a phone screen, the overlay following the tile as it resizes', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await expect
        .poll(async () => {
          const { rect, width, height } = await boxPixels(page, tile(), BOX_COLOUR);
          return rect !== null && width < 390 && iou(rect, onScreen(events.at(-1)!, width, height, true)) > 0.6;
        })
        .toBe(true);
      await page.screenshot({ path: await artifactPath('call-phone.png'), fullPage: true });
    } finally {
      await page.setViewportSize({ width: 900, height: 900 });
    }
  });

  it('shows the overlay on the other participant\'s tile too, not mirrored', async () => {
    const other = await launchBrowser(); // Chromium's own test pattern as camera: no face of its own
    try {
      const watcher = await other.newPage();
      await watcher.setViewportSize({ width: 900, height: 900 });
      await joinCall(watcher, app.url, ROOM, 'Watcher');
      await expect
        .poll(() => watcher.locator(`${tile()} .affect-labels`).textContent(), { timeout: 10_000 })
        .toMatch(/^Face 1: \S+ \d+%/);
      // Polled: on a loaded machine events can pause long enough for the overlay to be fading (not box-coloured).
      await expect
        .poll(async () => {
          const { rect, width, height } = await boxPixels(watcher, tile(), BOX_COLOUR);
          return rect !== null && iou(rect, onScreen(events.at(-1)!, width, height, false)) > 0.7;
        }, { timeout: 10_000 })
        .toBe(true);
      await watcher.screenshot({ path: await artifactPath('call-other-participant.png'), fullPage: true });
    } finally {
      await other.close();
    }
  });

  it('measures capture->overlay latency on the tile', async () => {
    // The tile's window (its last 100 samples) and the server's last 50 events below cover the same events.
    const seen = events.length;
    await expect.poll(() => events.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(seen + 50);
    const latency = page.locator(`${tile()} .latency`);
    const [p50, p95] = [Number(await latency.getAttribute('data-p50')), Number(await latency.getAttribute('data-p95'))];
    console.log(`capture->overlay p50 ${p50} ms, p95 ${p95} ms; shown as "${await latency.textContent()}"`);
    // Server and browser share this host's clock: the figure is real, and is more than the server's own share.
    const emit = events.slice(-50).map((e) => e.emitTime - e.arrivalTime).sort((a, b) => a - b);
    expect(p50).toBeGreaterThanOrEqual(emit[Math.floor(emit.length / 2)]!);
    expect(p95).toBeGreaterThanOrEqual(p50);
    expect(p50).toBeLessThan(1000);
  });

  it('turns a tile\'s overlay off and on from the keyboard', async () => {
    const toggle = page.locator(`${tile()} button.overlay-toggle`);
    await toggle.focus();
    await page.keyboard.press('Space');
    await expect.poll(() => toggle.getAttribute('aria-pressed')).toBe('false');
    expect(await page.locator(`${tile()} canvas.overlay`).isHidden()).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => toggle.getAttribute('aria-pressed')).toBe('true');
    expect(await page.locator(`${tile()} canvas.overlay`).isVisible()).toBe(true);
  });

  it('records the tile with its overlay as an MP4 with the affect track as subtitles', async () => {
    const record = page.locator(`${tile()} button.record`);
    await record.click();
    // 45 events of the one face: at most TAP_FPS (15) a second, so at least 3 s of recording with an overlay.
    const seen = events.length;
    await expect.poll(() => events.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(seen + 45);
    const downloaded = page.waitForEvent('download', { timeout: 60_000 });
    await record.click();
    const file = await artifactPath('recording.mp4');
    await (await downloaded).saveAs(file);

    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]);
    const probe = JSON.parse(stdout) as {
      streams: { codec_type: string; codec_name: string; width?: number }[];
      format: { format_name: string; duration: string };
    };
    console.log(`recording: ${probe.format.format_name}, ${probe.format.duration} s, streams ${probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).join(', ')}`);
    expect(probe.format.format_name).toContain('mp4');
    expect(probe.streams.find((s) => s.codec_type === 'video')?.width).toBe(640);
    expect(probe.streams.find((s) => s.codec_type === 'subtitle')?.codec_name).toBe('mov_text');
    expect(Number(probe.format.duration)).toBeGreaterThan(2);

    const subtitles = (await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:s:0', '-f', 'webvtt', '-'])).stdout;
    // Each cue line names the person and the face (as the events and exports do).
    expect(subtitles).toMatch(/^Face · face \d+: \S+ \d+% · valence -?\d\.\d\d · arousal -?\d\.\d\d/m);
    // The overlay is in the picture: a frame from the middle has the box colour in it.
    const frame = (await run('ffmpeg', ['-v', 'error', '-ss', '2', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
      encoding: 'buffer',
      maxBuffer: 16 << 20,
    })).stdout;
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(BOX_COLOUR.slice(i, i + 2), 16));
    let boxColoured = 0;
    for (let i = 0; i < frame.length; i += 3) {
      if (Math.abs(frame[i]! - r!) < 60 && Math.abs(frame[i + 1]! - g!) < 60 && Math.abs(frame[i + 2]! - b!) < 60) boxColoured++;
    }
    expect(boxColoured).toBeGreaterThan(200);
  });

  it('stops the analysis while the camera is off and resumes it when it is back on', async () => {
    const camera = page.locator('#camera-off');
    await camera.click();
    expect(await camera.getAttribute('aria-pressed')).toBe('true');
    const video = () => [...app.rooms.get(ROOM)!.peers.get(peerId)!.producers.values()].find((p) => p.kind === 'video')!;
    await expect.poll(() => video().paused).toBe(true);
    // The overlay empties once the face's events stop (it holds a face HOLD_MS after its last one), and the
    // tap asks for a keyframe once it has had no frame for a while: what was on its way before the pause is
    // through. From then on, up to its next request, it must decode nothing and no event may come.
    await expect.poll(() => page.locator(`${tile()} .affect-labels`).textContent(), { timeout: 8000 }).toBe('No face');
    const keyFrameRequest = async () => {
      const before = await total(app.metrics.keyFrameRequests);
      await expect.poll(() => total(app.metrics.keyFrameRequests), { timeout: 8000 }).toBeGreaterThan(before);
    };
    await keyFrameRequest();
    const paused = events.length;
    const decoded = await total(app.metrics.framesDecoded);
    await keyFrameRequest();
    expect(await total(app.metrics.framesDecoded)).toBe(decoded);
    expect(events.length).toBe(paused);
    await camera.click();
    expect(await camera.getAttribute('aria-pressed')).toBe('false');
    await expect.poll(() => events.length, { timeout: 8000 }).toBeGreaterThan(paused);
  });
});
