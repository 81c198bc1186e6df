import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../config.ts';
import { pollUntil } from '../pollUntil.ts';
import type { Rooms } from '../sfu/Rooms.ts';
import { attachRoomWebhooks } from './roomWebhooks.ts';
import { WebhookSender } from './WebhookSender.ts';

/** On close, how long webhooks already queued (room_finished...) may take to go out before they are dropped. */
const SETTLE_MS = 2000;

/** Webhooks of this node's rooms (WEBHOOK_URLS), with their metrics on the server's registry. */
export function startWebhooks(options: NonNullable<Config['webhooks']>, rooms: Rooms, registry: Registry) {
  const metrics = createWebhookMetrics(registry);
  const sender = new WebhookSender({
    ...options,
    onOutcome: (outcome, queued) => {
      metrics.webhookDeliveries.inc({ outcome });
      metrics.webhookQueue.set(queued);
    },
  });
  const room = attachRoomWebhooks(rooms, sender, options);
  return {
    onAffect: room.onAffect,
    /**
     * After the rooms have closed: their room_finished (and last affect) webhooks get up to SETTLE_MS to go
     * out; then what is left is dropped.
     */
    async close() {
      await pollUntil(() => sender.queued === 0, SETTLE_MS, 50);
      room.close();
      sender.close();
    },
  };
}

/** Metrics of webhooks (WEBHOOK_URLS), on the server's registry. */
function createWebhookMetrics(registry: Registry) {
  const registers = [registry];
  return {
    webhookDeliveries: new Counter({
      name: 'webhook_deliveries_total',
      help: 'webhook deliveries by outcome: delivered, retried (an attempt failed, another follows), dropped (queue full or out of attempts)',
      labelNames: ['outcome'],
      registers,
    }),
    webhookQueue: new Gauge({ name: 'webhook_queue_length', help: 'webhook deliveries waiting or being retried', registers }),
  };
}
