import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AffectSubscriber, type RejectedEvent } from '../../client/src/AffectSubscriber.ts';
import type { AffectEvent } from '../../protocol/affect-event.ts';
import type { App } from '../../server/src/app.ts';
import { syntheticAffectEvent } from '../helpers/affectEvent.ts';
import { startTestServer } from '../helpers/server.ts';

let app: App;

beforeAll(async () => {
  app = await startTestServer({ ANALYSIS_ENABLED: 'false', TAP_ENABLED: 'false' });
});

afterAll(async () => {
  await app?.close();
});

describe('AffectSubscriber', () => {
  it('reports events it drops, telling another protocol version from a malformed event', async () => {
    const subscriber = await AffectSubscriber.connect({ url: app.url, token: await app.subscriberToken({ room: 'versions' }), subscriptions: [{ roomId: 'versions' }] });
    try {
      const received: number[] = [];
      const rejected: RejectedEvent[] = [];
      subscriber.onEvent((event) => received.push(event.seq));
      subscriber.onRejected((r) => rejected.push(r));
      app.hub.publish(syntheticAffectEvent('versions', 0));
      app.hub.publish({ ...syntheticAffectEvent('versions', 1), v: 3 } as unknown as AffectEvent);
      app.hub.publish(syntheticAffectEvent('versions', 2, { valence: 7 }));
      app.hub.publish(syntheticAffectEvent('versions', 3));
      await expect.poll(() => received, { timeout: 5000 }).toEqual([0, 3]);
      expect(rejected.map((r) => [r.reason, r.v])).toEqual([['version', 3], ['schema', 2]]);
      expect(rejected[1]!.message).toMatch(/^valence: /);
      expect(subscriber.rejected).toBe(2);
    } finally {
      subscriber.close();
    }
  });
});
