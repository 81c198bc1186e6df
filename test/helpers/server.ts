import { startApp, type App } from '../../server/src/app.ts';
import { loadConfig } from '../../server/src/config.ts';

/** Test-friendly overrides of the service's defaults: loopback, a free port, one media worker, warnings only. */
export const TEST_SERVER_ENV = {
  HOST: '127.0.0.1',
  PORT: '0',
  MEDIASOUP_LISTEN_IP: '127.0.0.1',
  MEDIASOUP_WORKERS: '1',
  LOG_LEVEL: 'warn',
};

/** The real service on a free port of 127.0.0.1, with test-friendly overrides of its defaults. */
export function startTestServer(env: Record<string, string> = {}): Promise<App> {
  return startApp(loadConfig({ ...process.env, ...TEST_SERVER_ENV, ...env }));
}

/** The value of one sample in Prometheus text, e.g. metric(text, 'sfu_peers'). */
export function metricValue(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
