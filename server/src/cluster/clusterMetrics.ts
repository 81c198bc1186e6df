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
