import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
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

/**
 * Answers a GET or HEAD of `file`: a 304 to a revalidation by ETag, one byte range when asked for (a
 * download of the 32 MB ffmpeg core cut off halfway resumes where it stopped), else the whole file.
 */
export function sendStaticFile(req: IncomingMessage, res: ServerResponse, file: StaticFile): void {
  // no-cache: always revalidate (a rebuilt client is picked up at once), cheaply, by ETag. The ffmpeg
  // core behind the recording export is 32 MB: a 304 instead of it on every visit.
  const headers = { 'cache-control': 'no-cache', etag: file.etag, 'accept-ranges': 'bytes' };
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  // If-Range: a range of the version the client already has part of, else the whole (new) file. We send no
  // Last-Modified, so only our (strong) ETag can match.
  const ifRange = req.headers['if-range'];
  const range = ifRange === undefined || ifRange === file.etag ? byteRange(req.headers.range, file.size) : undefined;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${file.size}` }).end();
    return;
  }
  if (range) {
    res.writeHead(206, {
      ...headers,
      'content-type': file.contentType,
      'content-length': range.end - range.start + 1,
      'content-range': `bytes ${range.start}-${range.end}/${file.size}`,
    });
  } else {
    res.writeHead(200, { ...headers, 'content-type': file.contentType, 'content-length': file.size });
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file.path, range).on('error', () => res.destroy()).pipe(res);
}

/**
 * The one byte range (inclusive) a Range header asks of a `size`-byte file. Undefined, for the whole file,
 * where RFC 9110 lets a server ignore the header: none, a syntax error, another unit, or several ranges
 * (answered whole rather than as multipart/byteranges, which no client of ours asks for).
 */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = header?.trim().match(/^bytes=(\d*)-(\d*)$/i);
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // A suffix: the last n bytes, all of them when the file is shorter.
    const n = Number(last);
    return n === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Infinity : Number(last);
  if (end < start) return undefined;
  return start >= size ? 'unsatisfiable' : { start, end: Math.min(end, size - 1) };
}
