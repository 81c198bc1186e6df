import { stat } from 'node:fs/promises';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
};

export interface StaticFile {
  path: string;
  size: number;
  contentType: string;
  /** Changes whenever the file does: browsers revalidate and get a 304 instead of the bytes again. */
  etag: string;
}

/**
 * Resolves a URL path to a file inside `root`, or undefined. Paths that would leave `root`
 * (`..`, encoded or not) resolve to nothing.
 */
export async function readStaticFile(root: string, urlPath: string): Promise<StaticFile | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const file = path.resolve(root, relative);
  if (!file.startsWith(path.resolve(root) + path.sep)) return undefined;
  try {
    const info = await stat(file);
    if (!info.isFile()) return undefined;
    return {
      path: file,
      size: info.size,
      contentType: TYPES[path.extname(file)] ?? 'application/octet-stream',
      etag: `"${info.size.toString(36)}-${Math.round(info.mtimeMs).toString(36)}"`,
    };
  } catch {
    return undefined;
  }
}
