import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/** Where the UI tests leave screenshots and exported files for people to look at (gitignored). */
export const ARTIFACTS = path.resolve('test-results', 'ui');

export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}
