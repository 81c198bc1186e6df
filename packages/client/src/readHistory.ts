import { HistoryLineSchema, historyPath, type HistoryLine, type HistoryQuery } from '../../../protocol/affect-history.ts';

/** A line of a history answer that is not JSON or not a history line. */
export class HistoryLineError extends Error {
  override name = 'HistoryLineError';
  constructor(
    readonly lineNumber: number,
    message: string,
  ) {
    super(`history line ${lineNumber}: ${message}`);
  }
}

type Body = string | AsyncIterable<Uint8Array | string> | ReadableStream<Uint8Array>;

async function* chunks(body: Body): AsyncGenerator<string> {
  if (typeof body === 'string') return yield body;
  const decoder = new TextDecoder();
  // A ReadableStream is async-iterable in Node, not in every browser: read it by hand there.
  if (!(Symbol.asyncIterator in body)) {
    const reader = (body as ReadableStream<Uint8Array>).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) yield decoder.decode(r.value, { stream: true });
  } else {
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) yield typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  }
  yield decoder.decode();
}

/**
 * The lines of a `GET /rooms/<room>/affect` answer (JSON Lines: events, `gap`s, one `end` last), each checked
 * against the schema, as they arrive: a long history is never held whole. Takes the text, or a body to stream.
 */
export async function* readHistory(body: Body): AsyncGenerator<HistoryLine> {
  let rest = '';
  let number = 0;
  const parse = (line: string): HistoryLine => {
    number++;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new HistoryLineError(number, 'not JSON');
    }
    const parsed = HistoryLineSchema.safeParse(json);
    if (!parsed.success) throw new HistoryLineError(number, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return parsed.data;
  };
  for await (const text of chunks(body)) {
    const lines = (rest + text).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line.trim()) yield parse(line);
  }
  if (rest.trim()) yield parse(rest);
}

export interface FetchHistoryOptions {
  /** The server's base URL, e.g. https://affect.example.com */
  url: string;
  /** A subscriber token granting the room (or one of its peers). */
  token: string;
  roomId: string;
  query?: Omit<HistoryQuery, 'after'>;
  /** Follow `end.next` while the server's limit cut an answer short (default true). */
  allPages?: boolean;
  fetch?: typeof fetch;
}

/** A room's durable history from the server, page after page, streamed line by line (`end` lines included). */
export async function* fetchHistory(options: FetchHistoryOptions): AsyncGenerator<HistoryLine> {
  const get = options.fetch ?? fetch;
  let after: string | undefined;
  do {
    const params = new URLSearchParams(
      Object.entries({ ...options.query, after }).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])),
    );
    const response = await get(`${options.url.replace(/\/$/, '')}${historyPath(options.roomId)}?${params}`, {
      headers: { authorization: `Bearer ${options.token}` },
    });
    if (!response.ok || !response.body) throw new Error(`history of ${options.roomId}: HTTP ${response.status} ${await response.text()}`);
    after = undefined;
    for await (const line of readHistory(response.body)) {
      if (line.type === 'end' && line.truncated && line.next && options.allPages !== false) after = line.next;
      yield line;
    }
  } while (after);
}
