import { fileURLToPath } from 'node:url';

/** A file under test/fixtures/, whatever the working directory. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** Sessions for tests: CPU so results do not depend on the machine, and quiet. */
export const TEST_SESSIONS = { provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} } as const;
