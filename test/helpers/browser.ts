import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * A headless Chromium whose camera is `cameraFile` (y4m) or Chromium's own moving test pattern.
 * Each browser gets its own profile: two pages in one call should not share a camera file.
 */
export async function launchBrowser(cameraFile?: string): Promise<BrowserContext> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'chromium-profile-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      ...(cameraFile ? [`--use-file-for-fake-video-capture=${cameraFile}`] : []),
    ],
  });
}

/** Joins a room from the call page and resolves with the peer id the server gave this page. */
export async function joinCall(page: Page, baseUrl: string, roomId: string, name: string): Promise<string> {
  await page.goto(baseUrl);
  await page.fill('#room', roomId);
  await page.fill('#name', name);
  await page.click('#join');
  await page.waitForSelector('body[data-joined-as]', { timeout: 20_000 });
  return (await page.getAttribute('body', 'data-joined-as'))!;
}

/** How many frames the tile of `peerId` has rendered so far (0 if it has no tile yet). */
export function renderedFrames(page: Page, peerId: string): Promise<number> {
  return page.evaluate((id) => {
    const video = document.querySelector<HTMLVideoElement>(`[data-peer-id="${CSS.escape(id)}"] video`);
    return video ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
  }, peerId);
}
