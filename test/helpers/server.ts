import { startApp, type App } from '../../server/src/app.ts';
import { loadConfig } from '../../server/src/config.ts';

/** The real service on a free port of 127.0.0.1, with test-friendly overrides of its defaults. */
export function startTestServer(env: Record<string, string> = {}): Promise<App> {
  return startApp(
    loadConfig({
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      MEDIASOUP_LISTEN_IP: '127.0.0.1',
      MEDIASOUP_WORKERS: '1',
      LOG_LEVEL: 'warn',
      ...env,
    }),
  );
}

/** The value of one sample in Prometheus text, e.g. metric(text, 'sfu_peers'). */
export function metricValue(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
