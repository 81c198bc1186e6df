import http from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { requestSchemas, type Ack, type RequestName } from '../../protocol/signaling.ts';
import type { App } from '../../server/src/app.ts';
import { processStats, type ProcessStats } from './processStats.ts';

/**
 * A protocol-aware fuzzer of the call's signaling: real socket.io clients send every request type, valid
 * and mutated, from each protocol state (not joined, joined, with transports and producers), to a server
 * started in this process, and count the answers by code. A fault of the server shows as an INTERNAL
 * answer, a request never answered, a dead media worker, a room left behind, or a polluted prototype.
 */
export interface FuzzOptions {
  /** Requests to send in all (the setup's own requests not counted). */
  count: number;
  /** And at most this long. */
  seconds: number;
  seed: number;
  /** Requests a second per fuzzing client: under the server's per-socket rate limit, so that most get through. */
  ratePerClient?: number;
}

export type State = 'not-joined' | 'joined' | 'media';
const STATES: State[] = ['not-joined', 'joined', 'media'];
const CLIENTS_PER_STATE = 2;
const ACK_TIMEOUT_MS = 5000;
/** A client's own answers besides the server's error codes. */
type Outcome = 'OK' | 'TIMEOUT' | 'DISCONNECTED' | 'NO_ACK_SENT' | 'UNSENDABLE' | Exclude<Ack<unknown>, { ok: true }>['error']['code'];

export interface FuzzReport {
  sent: number;
  seconds: number;
  byCode: Record<string, number>;
  byState: Record<State, Record<string, number>>;
  /** Mutations that drew an INTERNAL answer or none, with the request: what to reproduce. */
  faults: string[];
  checks: {
    /** /healthz answers and a new participant can join, create a transport and leave. */
    answering: boolean;
    /** INTERNAL answers counted by the server itself (signaling_errors_total). */
    internalOnServer: number;
    workersBefore: number;
    workersAfter: number;
    workerDeaths: number;
    /** Every room closed once the fuzzing clients were gone. */
    drained: boolean;
    prototypeClean: boolean;
    before: Usage;
    after: Usage;
  };
}

interface Usage {
  /** This process (the server and the fuzzer) and the mediasoup workers. */
  node: ProcessStats;
  workers: ProcessStats;
  /** Node's active handles and requests by type (process.getActiveResourcesInfo). */
  handles: Record<string, number>;
}

const vp8 = (ssrc: number) => ({
  mid: String(ssrc),
  codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
  encodings: [{ ssrc }],
});
const dtls = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }] };

/** mulberry32: a small seeded generator, so that a run that finds something can be repeated. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
type Random = ReturnType<typeof random>;

/** Ids seen by any client: offered to the others as ids of another room or peer. */
class IdPool {
  readonly ids = new Set<string>(['fuzz-joined', 'fuzz-media-0']);
  add(...ids: (string | undefined)[]): void {
    for (const id of ids) if (id) this.ids.add(id);
  }
  pick(rng: Random): string {
    return rng.pick([...this.ids]);
  }
}

interface Ids {
  roomId?: string;
  peerId?: string;
  send?: string;
  recv?: string;
  producer?: string;
  consumer?: string;
  rtpCapabilities?: unknown;
}

class Client {
  socket!: Socket;
  ids: Ids = {};

  constructor(
    private readonly url: string,
    readonly state: State,
    private readonly room: string,
    private readonly pool: IdPool,
    /** The partner's producer, for a media client to consume. */
    private readonly partnerProducer?: () => string | undefined,
  ) {}

  async setup(): Promise<void> {
    this.socket?.close();
    this.ids = {};
    this.socket = io(this.url, { transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', reject);
    });
    if (this.state === 'not-joined') return;
    const joined = await this.must('join', { roomId: this.room, displayName: `fuzz-${this.state}` });
    this.ids = { roomId: this.room, peerId: String(joined.peerId), rtpCapabilities: joined.routerRtpCapabilities };
    if (this.state === 'media') {
      this.ids.send = String((await this.must('createTransport', { direction: 'send' })).id);
      await this.produce();
      this.ids.recv = String((await this.must('createTransport', { direction: 'recv' })).id);
      const partner = this.partnerProducer?.();
      if (partner) {
        const consumed = await this.must('consume', { transportId: this.ids.recv, producerId: partner, rtpCapabilities: this.ids.rtpCapabilities });
        this.ids.consumer = String(consumed.consumerId);
      }
    }
    this.pool.add(...Object.values(this.ids).filter((v): v is string => typeof v === 'string'));
  }

  async produce(): Promise<void> {
    const ssrc = 1000 + Math.floor(Math.random() * 1e8);
    this.ids.producer = String((await this.must('produce', { transportId: this.ids.send, kind: 'video', rtpParameters: vp8(ssrc) })).producerId);
    this.pool.add(this.ids.producer);
  }

  /** Sends one event and waits for its answer (or the connection's end, or the timeout). */
  send(name: string, args: unknown[], withAck: boolean): Promise<Outcome> {
    return new Promise((resolve) => {
      const finish = (outcome: Outcome) => {
        clearTimeout(timer);
        this.socket.off('disconnect', onDisconnect);
        resolve(outcome);
      };
      const onDisconnect = () => finish('DISCONNECTED');
      const timer = setTimeout(() => finish('TIMEOUT'), ACK_TIMEOUT_MS);
      this.socket.once('disconnect', onDisconnect);
      try {
        if (withAck) this.socket.emit(name, ...args, (ack: Ack<unknown>) => finish(ack.ok ? 'OK' : ack.error.code));
        else this.socket.emit(name, ...args);
      } catch {
        // socket.io-client's encoder recurses: a payload nested past its stack never leaves this process.
        return finish('UNSENDABLE');
      }
      if (!withAck) finish('NO_ACK_SENT');
    });
  }

  private async must(name: RequestName, payload: unknown): Promise<Record<string, unknown>> {
    const ack = (await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(name, payload)) as Ack<Record<string, unknown>>;
    if (!ack.ok) throw new Error(`fuzz setup: ${name} answered ${ack.error.code} ${ack.error.message}`);
    return ack.data;
  }
}

const NAMES = Object.keys(requestSchemas) as RequestName[];
const UNKNOWN_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'joinx', '', 'connect', 'disconnect'];
const ODD_VALUES: unknown[] = [0, -1, 1e308, 2 ** 53 + 1, true, false, null, [], {}, '', ' ', 'x', '\u0000', '💥'.repeat(10), [1, 'a', null]];
const ID_FIELDS = new Set(['roomId', 'transportId', 'producerId', 'consumerId']);

/** A valid request of `name` for this client's state, with its own ids where it has them (others' where not). */
function template(name: RequestName, client: Client, pool: IdPool, rng: Random): Record<string, unknown> {
  const { ids } = client;
  const id = (own: string | undefined) => own ?? pool.pick(rng);
  switch (name) {
    case 'join':
      return { roomId: ids.roomId ?? 'fuzz-joined', displayName: 'Fuzz' };
    case 'createTransport':
      return { direction: rng.pick(['send', 'recv']) };
    case 'connectTransport':
      return { transportId: id(rng.pick([ids.send, ids.recv])), dtlsParameters: dtls };
    case 'produce':
      return { transportId: id(ids.send), kind: rng.pick(['audio', 'video']), rtpParameters: vp8(1000 + rng.int(1e8)) };
    case 'closeProducer':
    case 'pauseProducer':
    case 'resumeProducer':
      return { producerId: id(ids.producer) };
    case 'consume':
      return { transportId: id(ids.recv), producerId: pool.pick(rng), rtpCapabilities: ids.rtpCapabilities ?? {} };
    case 'pauseConsumer':
    case 'resumeConsumer':
      return { consumerId: id(ids.consumer) };
    case 'leave':
    case 'affectToken':
      return {};
    case 'setAnalysis':
      return { analysed: rng.next() < 0.5 };
  }
}

/** Objects and arrays nested `depth` deep. */
const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value];
  return value;
};

/** Mutates a value somewhere inside `value` (a mediasoup structure, say): one leaf or branch replaced. */
function mutateInside(value: unknown, rng: Random, replacement: unknown): unknown {
  if (value === null || typeof value !== 'object' || rng.next() < 0.3) return replacement;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return replacement;
  const key = rng.pick(keys);
  (copy as Record<string, unknown>)[key] = mutateInside((copy as Record<string, unknown>)[key], rng, replacement);
  return copy;
}

interface Mutation {
  kind: string;
  name: string;
  args: unknown[];
  withAck: boolean;
}

/** One request: mostly a mutation of a valid one, sometimes the valid one itself. */
function mutation(client: Client, pool: IdPool, rng: Random): Mutation {
  const name = rng.pick(NAMES);
  const payload = template(name, client, pool, rng);
  const fields = Object.keys(payload);
  const field = fields.length > 0 ? rng.pick(fields) : 'x';
  const odd = () => rng.pick(ODD_VALUES);
  const kinds: [string, () => Omit<Mutation, 'kind'>][] = [
    ['valid', () => ({ name, args: [payload], withAck: true })],
    ['wrong type', () => ({ name, args: [{ ...payload, [field]: odd() }], withAck: true })],
    ['huge string', () => ({ name, args: [{ ...payload, [field]: 'A'.repeat(rng.pick([300, 65_600, 1_200_000])) }], withAck: true })],
    ['deep nesting', () => ({ name, args: [{ ...payload, [field]: nested(rng.pick([100, 2000, 12_000])) }], withAck: true })],
    ['unknown field', () => ({ name, args: [{ ...payload, [rng.pick(['extra', 'peerId', 'isAdmin', 'grants'])]: odd() }], withAck: true })],
    [
      'prototype keys',
      () => ({
        name,
        args: [
          JSON.parse(
            JSON.stringify(payload).replace(
              /^\{/,
              rng.pick([
                '{"__proto__":{"polluted":"fuzz"},',
                '{"constructor":{"prototype":{"polluted":"fuzz"}},',
                '{"__proto__":null,',
                '{"hasOwnProperty":"fuzz",',
              ]),
            ).replace(/,\}$/, '}'),
          ),
        ],
        withAck: true,
      }),
    ],
    [
      'other room or peer ids',
      () => ({
        name,
        args: [Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, ID_FIELDS.has(k) ? pool.pick(rng) : v]))],
        withAck: true,
      }),
    ],
    ['missing field', () => ({ name, args: [Object.fromEntries(Object.entries(payload).filter(([k]) => k !== field))], withAck: true })],
    ['inside a mediasoup object', () => ({ name, args: [mutateInside(payload, rng, odd())], withAck: true })],
    ['not an object', () => ({ name, args: [odd()], withAck: true })],
    ['no payload', () => ({ name, args: [], withAck: true })],
    ['extra arguments', () => ({ name, args: [payload, odd(), odd()], withAck: true })],
    ['unknown request', () => ({ name: rng.pick(UNKNOWN_NAMES), args: [payload], withAck: true })],
    ['no ack', () => ({ name, args: [payload], withAck: false })],
    ['binary', () => ({ name, args: [Buffer.from('fuzz')], withAck: true })],
  ];
  // The ones that end the connection (binary, too large for socket.io) are rarer: each costs a new setup.
  const weights = kinds.map(([kind]) => (kind === 'binary' ? 0.2 : kind === 'huge string' || kind === 'deep nesting' ? 0.6 : 1));
  let r = rng.next() * weights.reduce((a, b) => a + b, 0);
  let chosen = kinds.length - 1;
  for (let i = 0; i < kinds.length; i++) if ((r -= weights[i]!) < 0) { chosen = i; break; }
  const [kind, make] = kinds[chosen]!;
  return { kind, ...make() };
}

function usage(app: App): Usage {
  const workers = app.pool.workers.map((w) => processStats(w.pid));
  const sum = (key: keyof ProcessStats) => workers.reduce((s, w) => s + w[key], 0);
  const handles: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) handles[type] = (handles[type] ?? 0) + 1;
  return { node: processStats(process.pid), workers: { rssMb: sum('rssMb'), fds: sum('fds'), udp: sum('udp'), tcp: sum('tcp') }, handles };
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** On a connection of its own, closed after the answer: a kept-alive one would count as an open handle. */
function healthStatus(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    http
      .get(`${url}/healthz`, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
      .on('error', () => resolve(undefined));
  });
}

async function answering(app: App): Promise<boolean> {
  if ((await healthStatus(app.url)) !== 200) return false;
  const probe = new Client(app.url, 'joined', 'fuzz-probe', new IdPool());
  try {
    await probe.setup();
    const outcomes = [await probe.send('createTransport', [{ direction: 'send' }], true), await probe.send('leave', [{}], true)];
    return outcomes.every((o) => o === 'OK');
  } catch {
    return false;
  } finally {
    probe.socket?.close();
  }
}

async function internalAnswers(app: App): Promise<number> {
  const { values } = await app.metrics.signalingErrors.get();
  return values.find((v) => v.labels.code === 'INTERNAL')?.value ?? 0;
}

export async function fuzzSignaling(app: App, options: FuzzOptions): Promise<FuzzReport> {
  const rng = random(options.seed);
  const pool = new IdPool();
  const rate = options.ratePerClient ?? 15;
  const before = usage(app);
  const workersBefore = app.pool.size;
  const internalBefore = await internalAnswers(app);

  // A media client's partner sends a producer for it to consume; it is not fuzzed itself.
  const partners = Array.from({ length: CLIENTS_PER_STATE }, (_, i) => new Client(app.url, 'media', `fuzz-media-${i}`, pool));
  for (const partner of partners) await partner.setup();
  const clients = STATES.flatMap((state) =>
    Array.from({ length: CLIENTS_PER_STATE }, (_, i) =>
      state === 'media'
        ? new Client(app.url, state, `fuzz-media-${i}`, pool, () => partners[i]!.ids.producer)
        : new Client(app.url, state, 'fuzz-joined', pool),
    ),
  );
  for (const client of clients) await client.setup();

  const byCode: Record<string, number> = {};
  const byState = Object.fromEntries(STATES.map((s) => [s, {}])) as Record<State, Record<string, number>>;
  const faults: string[] = [];
  let sent = 0;
  const started = Date.now();
  const deadline = started + options.seconds * 1000;

  const fuzz = async (client: Client) => {
    while (sent < options.count && Date.now() < deadline) {
      sent++;
      const t0 = Date.now();
      const m = mutation(client, pool, rng);
      const outcome = await client.send(m.name, m.args, m.withAck);
      byCode[outcome] = (byCode[outcome] ?? 0) + 1;
      byState[client.state][outcome] = (byState[client.state][outcome] ?? 0) + 1;
      if (outcome === 'INTERNAL' || outcome === 'TIMEOUT') {
        faults.push(`${outcome} on ${client.state}: ${m.kind} ${JSON.stringify(m.name)} ${JSON.stringify(m.args).slice(0, 300)}`);
      }
      // Back to the state under test when a request left it (or the server closed the connection).
      const left =
        outcome === 'DISCONNECTED' ||
        (outcome === 'OK' && (m.name === 'leave' || m.name === 'closeProducer' || (m.name === 'join' && client.state === 'not-joined')));
      if (left) await client.setup();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 / rate - (Date.now() - t0))));
    }
  };
  await Promise.all(clients.map(fuzz));
  const seconds = (Date.now() - started) / 1000;

  for (const client of [...clients, ...partners]) client.socket.close();
  const checks = {
    answering: await answering(app),
    internalOnServer: (await internalAnswers(app)) - internalBefore,
    workersBefore,
    workersAfter: app.pool.size,
    workerDeaths: (await app.metrics.workerDeaths.get()).values[0]?.value ?? 0,
    drained: await waitFor(() => app.rooms.size === 0, 10_000),
    prototypeClean: Object.keys(Object.prototype).length === 0 && !('polluted' in {}),
    before,
    after: usage(app),
  };
  // Closed connections take a moment to be gone on both ends: sampled again once they are.
  await waitFor(() => !process.getActiveResourcesInfo().includes('TCPSocketWrap'), 10_000);
  checks.after = usage(app);
  return { sent, seconds, byCode, byState, faults, checks };
}

/** What must hold after a run: the lines that say why not, empty when all is well. */
export function fuzzFailures(report: FuzzReport): string[] {
  const { checks } = report;
  return [
    report.byCode.INTERNAL ? `${report.byCode.INTERNAL} INTERNAL answers` : '',
    checks.internalOnServer ? `${checks.internalOnServer} INTERNAL answers counted by the server` : '',
    report.byCode.TIMEOUT ? `${report.byCode.TIMEOUT} requests never answered` : '',
    checks.answering ? '' : 'the server no longer answers',
    checks.workerDeaths || checks.workersAfter < checks.workersBefore ? 'a media worker died' : '',
    checks.drained ? '' : 'rooms left open after every client left',
    checks.prototypeClean ? '' : 'Object.prototype polluted',
  ].filter(Boolean);
}
