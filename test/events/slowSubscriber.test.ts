import type { Socket as NetSocket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AffectSubscriber } from '../../client/src/AffectSubscriber.ts';
import type { App } from '../../server/src/app.ts';
import { syntheticAffectEvent } from '../helpers/affectEvent.ts';
import { metricValue, startTestServer } from '../helpers/server.ts';

let app: App;

beforeAll(async () => {
  app = await startTestServer({ TAP_ENABLED: 'false', MAX_BUFFERED_EVENTS: '16' });
});
afterAll(() => app?.close());

// Padding so that the client's kernel buffers fill in a few thousand events.
const aus = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`AU${i}`, { p: 0.5, active: false }]));
const event = (seq: number) => syntheticAffectEvent('slow', seq, { aus });

it('drops a subscriber that stops reading, while another keeps receiving everything', async () => {
  const token = await app.subscriberToken({ room: 'slow' });
  const subscribe = () =>
    AffectSubscriber.connect({ url: app.url, token, subscriptions: [{ roomId: 'slow' }], validate: false });
  const [healthy, stalled] = await Promise.all([subscribe(), subscribe()]);
  let received = 0;
  healthy.onEvent(() => (received += 1));
  // Stop reading on the stalled client's TCP connection, as a client stuck on a slow network would.
  const transport = stalled.socket.io.engine.transport as unknown as { ws: { _socket: NetSocket } };
  transport.ws._socket.pause();
  let disconnected = false;
  stalled.socket.on('disconnect', () => (disconnected = true));

  const total = 20_000;
  for (let seq = 0; seq < total; seq++) {
    app.hub.publish(event(seq));
    // Yield every few events (fewer than MAX_BUFFERED_EVENTS) so that the server writes, and its sweep runs,
    // between them, as when the pipeline emits. After a burst of hundreds, a sweep that ran before the writes
    // (a loaded machine makes that likely) saw every subscriber as slow, the healthy one too.
    if (seq % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
  }
  await expect.poll(() => received, { timeout: 20_000 }).toBe(total);
  await expect
    .poll(async () => metricValue(await (await fetch(`${app.url}/metrics`)).text(), 'affect_slow_subscribers_total'), {
      timeout: 5000,
    })
    .toBe(1);
  expect(healthy.gaps).toBe(0);
  transport.ws._socket.resume();
  await expect.poll(() => disconnected, { timeout: 5000 }).toBe(true);
  healthy.close();
  stalled.close();
});
