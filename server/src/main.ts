import { startApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './log.ts';

const log = createLogger('main');
let config: Config;
try {
  config = loadConfig();
} catch (error) {
  // A setting to fix, said plainly: a stack trace would bury it.
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}
let app: Awaited<ReturnType<typeof startApp>>;
try {
  app = await startApp(config);
} catch (error) {
  // An unreadable certificate, or one that does not go with its key: said plainly as well.
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    // SIGTERM (an orchestrator's stop) hands the rooms over first when there are other nodes to take them.
    (signal === 'SIGTERM' ? app.drain() : Promise.resolve()).then(() => app.close()).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
