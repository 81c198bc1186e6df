import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type TestNode } from '../helpers/cluster.ts';
import { startRedis, type TestRedis } from '../helpers/redisServer.ts';

/** An offer Chromium made; nothing sends media here, which WHIP_NO_MEDIA_TIMEOUT_MS allows for the test's length. */
const OFFER = readFileSync(new URL('fixtures/chromium-offer.sdp', import.meta.url), 'utf8');
const ROOM = 'whip-cluster';

let redis: TestRedis;
let nodeA: TestNode;
let nodeB: TestNode;

const post = (url: string, redirect: RequestRedirect) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: OFFER, redirect });

beforeAll(async () => {
  redis = await startRedis();
  // Neither node decodes nor analyses: the test is about where sessions go.
  const env = { REDIS_URL: redis.url, TAP_ENABLED: 'false', ANALYSIS_ENABLED: 'false', WHIP_NO_MEDIA_TIMEOUT_MS: '60000' };
  [nodeA, nodeB] = await Promise.all([startNode(env), startNode(env)]);
});

afterAll(async () => {
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  await redis?.kill();
});

describe('WHIP on two nodes', () => {
  it('sends a publisher of a room another node has there with 307, which a client following it publishes to', async () => {
    const first = await post(`${nodeA.url}/whip/${ROOM}?name=First`, 'manual');
    expect(first.status, await first.text()).toBe(201);
    const moved = await post(`${nodeB.url}/whip/${ROOM}?name=Second`, 'manual');
    expect(moved.status).toBe(307);
    expect(moved.headers.get('location')).toBe(`${nodeA.url}/whip/${ROOM}?name=Second`);
    expect(await moved.text()).toBe(`this room lives on ${nodeA.url}`);
    // A WHIP client follows it with the same POST (307 keeps the method and body), as fetch does.
    const followed = await post(`${nodeB.url}/whip/${ROOM}?name=Second`, 'follow');
    expect(followed.status).toBe(201);
    expect(followed.url).toBe(`${nodeA.url}/whip/${ROOM}?name=Second`);
    expect((await nodeA.health()).peers).toBe(2);
    expect((await nodeB.health()).rooms).toBe(0);
  });

  it("forwards a browser's offer (it cannot follow a 307 across origins) to the room's node, and answers with that node's session", async () => {
    const peersBefore = (await nodeA.health()).peers;
    // A page of node B (its own origin) publishing to B; the room is on A.
    const answer = await fetch(`${nodeB.url}/whip/${ROOM}?name=Browser`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', origin: nodeB.url },
      body: OFFER,
      redirect: 'manual',
    });
    expect(answer.status, await answer.clone().text()).toBe(201);
    expect(answer.headers.get('access-control-allow-origin')).toBe(nodeB.url);
    const resource = answer.headers.get('location')!;
    expect(resource).toMatch(new RegExp(`^${nodeA.url}/whip/${ROOM}/[0-9a-f-]{36}$`));
    expect(answer.headers.get('etag')).toBeTruthy();
    expect(await answer.text()).toMatch(/^v=0\r\n[\s\S]*a=ice-lite/);
    expect((await nodeA.health()).peers).toBe(peersBefore + 1);
    expect((await nodeB.health()).rooms).toBe(0);
    // The session is node A's: it is ended there, directly.
    expect((await fetch(resource, { method: 'DELETE' })).status).toBe(200);
    expect((await nodeA.health()).peers).toBe(peersBefore);
  });
});
