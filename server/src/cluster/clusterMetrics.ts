import { Counter, Gauge, type Registry } from 'prom-client';

/** Metrics of the several-nodes parts, on the server's registry (GET /metrics). */
export function createClusterMetrics(registry: Registry) {
  const registers = [registry];
  return {
    redisUp: new Gauge({ name: 'redis_up', help: '1 while this node reaches Redis (REDIS_URL), else 0', registers }),
    historyWriteErrors: new Counter({
      name: 'affect_history_write_errors_total',
      help: 'affect events not kept in the durable history (Redis away or refusing)',
      registers,
    }),
  };
}
export type ClusterMetrics = ReturnType<typeof createClusterMetrics>;

/** Metrics of webhooks (WEBHOOK_URLS), on the server's registry. */
export function createWebhookMetrics(registry: Registry) {
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
export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;
