import { startApp } from './app.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './log.ts';

const log = createLogger('main');
const config = loadConfig();
const app = await startApp(config);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
