import type { BrowserContext, Page } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack } from '../../protocol/signaling.ts';
import { joinCall, launchBrowser } from '../helpers/browser.ts';
import { startNode, type TestNode } from '../helpers/cluster.ts';
import { freePort, startRedis, type TestRedis } from '../helpers/redisServer.ts';

const ROOM = 'page';
const NODE_ENV = { NODE_HEARTBEAT_MS: '200', TAP_ENABLED: 'false', ANALYSIS_ENABLED: 'false' };

let redis: TestRedis;
let nodeA: TestNode;
let nodeB: TestNode;
let browser: BrowserContext;
let page: Page;
let ada: Socket;


beforeAll(async () => {
  redis = await startRedis();
  // The page is served by B and talks to A: A must allow B's origin.
  const portB = await freePort();
  [nodeA, nodeB] = await Promise.all([
    startNode({ ...NODE_ENV, REDIS_URL: redis.url, NODE_ID: 'a', ALLOWED_ORIGINS: `http://127.0.0.1:${portB}` }),
    startNode({ ...NODE_ENV, REDIS_URL: redis.url, NODE_ID: 'b', PORT: String(portB) }),
  ]);
  browser = await launchBrowser();
  page = await browser.newPage();
});

afterAll(async () => {
  ada?.close();
  await browser?.close();
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  await redis?.kill();
});

describe('the call page on several nodes', () => {
  it('follows MOVED to the room\'s node, and after that node dies rejoins through its own, which re-creates the room', async () => {
    ada = io(nodeA.url, { transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve) => ada.once('connect', () => resolve()));
    const ack = (await ada.timeout(5000).emitWithAck('join', { roomId: ROOM, displayName: 'Ada' })) as Ack<unknown>;
    expect(ack.ok).toBe(true);

    const firstPeer = await joinCall(page, nodeB.url, ROOM, 'Bea');
    // In A's room with Ada, nothing on B.
    expect(await nodeA.health()).toMatchObject({ rooms: 1, peers: 2 });
    expect(await nodeB.health()).toMatchObject({ rooms: 0, peers: 0 });
    await expect.poll(() => page.locator(`[data-peer-id]`).count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);

    await nodeA.kill();
    // The page sees its call end, rejoins through B, and B creates the room once A's lease has run out.
    await page.waitForFunction((old) => document.body.dataset.joinedAs !== undefined && document.body.dataset.joinedAs !== old, firstPeer, {
      timeout: 30_000,
    });
    expect(await nodeB.health()).toMatchObject({ rooms: 1, peers: 1 });
  });
});
