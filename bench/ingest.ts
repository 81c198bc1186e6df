/**
 * What a pulled source costs against a call participant's camera: the face video pulled over RTMP (a local
 * ffmpeg server) and as an HLS playlist over HTTP, and the same video as a call page's camera (headless
 * Chromium). Per run: the POST's 201 (or the join) -> first affect event at a subscriber, the events per second of
 * the next 5 s, and the CPU of the stream's decoder (the source's ffmpeg, or the frame tap's) over those 5 s.
 *   npm run bench:ingest [-- --runs 3] [--json file]
 */
import { parseArgs } from 'node:util';
import { AffectSubscriber } from '../client/src/AffectSubscriber.ts';
import { signIngestToken, tokenKey } from '../server/src/auth/tokens.ts';
import { joinCall, launchBrowser } from '../test/helpers/browser.ts';
import { faceVideoY4m } from '../test/helpers/faceVideo.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { faceVideoHls, faceVideoMp4, fileServer, freePort, rtmpServer } from '../test/ingest/localServers.ts';
import { cpuMeter } from './lib/cpu.ts';
import { describeMachine, writeResults } from './lib/report.ts';
import { fmt, median } from './lib/stats.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, json: { type: 'string' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error('--runs takes 1-20');
const FIRST_EVENT_TIMEOUT_MS = 30_000;
const WINDOW_MS = 5000;
const TOKEN_SECRET = 'bench-ingest-secret-0123456789abcdef0123';

const app = await startTestServer({ LOG_LEVEL: 'error', TOKEN_SECRET, SOURCE_ALLOW_PRIVATE: 'true' });
const key = tokenKey(TOKEN_SECRET);
const video = await faceVideoMp4();
const files = await fileServer(await faceVideoHls());
const rtmpPort = await freePort();
const rtmp = rtmpServer(video, rtmpPort);
const browser = await launchBrowser(await faceVideoY4m());

interface Run {
  firstEventMs: number;
  eventsPerSecond: number;
  /** The stream's decoder, % of one core. */
  decoderCpu: number;
}

interface Started {
  startedAt: number;
  peerId: string;
  decoderPid: () => number | undefined;
  stop: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(roomId: string, start: () => Promise<Started>): Promise<Run> {
  const arrivals: number[] = [];
  let peerId: string | undefined;
  const watcher = await AffectSubscriber.connect({
    url: app.url,
    token: await app.subscriberToken({ room: roomId }, 600),
    subscriptions: [{ roomId }],
    onEvent: (event) => {
      if (event.type === 'affect' && event.peerId === peerId) arrivals.push(Date.now());
    },
  });
  const started = await start();
  peerId = started.peerId;
  try {
    const deadline = Date.now() + FIRST_EVENT_TIMEOUT_MS;
    while (arrivals.length === 0 && Date.now() < deadline) await sleep(10);
    if (arrivals.length === 0) return { firstEventMs: Number.NaN, eventsPerSecond: 0, decoderCpu: Number.NaN };
    const first = arrivals[0]!;
    const cpu = cpuMeter({ decoder: () => [started.decoderPid()].filter((pid): pid is number => pid !== undefined) });
    await sleep(WINDOW_MS);
    const inWindow = arrivals.filter((t) => t > first && t <= first + WINDOW_MS).length;
    return { firstEventMs: first - started.startedAt, eventsPerSecond: inWindow / (WINDOW_MS / 1000), decoderCpu: cpu().decoder! };
  } finally {
    watcher.close();
    await started.stop();
  }
}

async function pull(roomId: string, url: string): Promise<Started> {
  const token = await signIngestToken({ room: roomId }, key, 600);
  const response = await fetch(`${app.url}/rooms/${roomId}/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url, name: 'Bench source' }),
  });
  const startedAt = Date.now();
  const body = (await response.json()) as { id: string; peerId: string; error?: string };
  if (response.status !== 201) throw new Error(`POST answered ${response.status}: ${body.error}`);
  return {
    startedAt,
    peerId: body.peerId,
    decoderPid: () => app.sources.get(body.id)?.decoderPid,
    stop: async () => {
      await fetch(`${app.url}/rooms/${roomId}/sources/${body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    },
  };
}

async function callPage(roomId: string): Promise<Started> {
  const page = await browser.newPage();
  const peerId = await joinCall(page, app.url, roomId, 'Bench');
  const startedAt = Date.now();
  return {
    startedAt,
    peerId,
    decoderPid: () => [...(app.taps?.values() ?? [])].find((tap) => tap.ids.peerId === peerId)?.decoderPid,
    stop: () => page.close(),
  };
}

const kinds = {
  'RTMP source': (room: string) => pull(room, `rtmp://127.0.0.1:${rtmpPort}/live/face`),
  'HLS source': (room: string) => pull(room, `http://127.0.0.1:${files.port}/face.m3u8`),
  'call page camera': callPage,
};
const results: Record<string, Run[]> = {};
for (let run = 0; run < runs; run++) {
  for (const [name, start] of Object.entries(kinds)) {
    const room = `bench-ingest-${run}-${name.split(' ')[0]!.toLowerCase()}`;
    const result = await measure(room, () => start(room));
    (results[name] ??= []).push(result);
    console.log(
      `${name}, run ${run + 1}: first affect event ${fmt(result.firstEventMs, 0)} ms, ${fmt(result.eventsPerSecond)} events/s, decoder ${fmt(result.decoderCpu)}% of a core`,
    );
  }
}

console.log(`\n${describeMachine()}`);
const summary = Object.fromEntries(
  Object.entries(results).map(([name, list]) => [
    name,
    {
      firstEventMs: median(list.map((r) => r.firstEventMs)),
      eventsPerSecond: median(list.map((r) => r.eventsPerSecond)),
      decoderCpu: median(list.map((r) => r.decoderCpu)),
    },
  ]),
);
for (const [name, s] of Object.entries(summary)) {
  console.log(
    `${name}: first affect event ${fmt(s.firstEventMs, 0)} ms (median of ${runs}), ${fmt(s.eventsPerSecond)} events/s, decoder ${fmt(s.decoderCpu)}% of a core`,
  );
}
writeResults(values.json, 'ingest', { machine: describeMachine(), runs, results, summary });

await browser.close();
await rtmp.stop();
files.close();
await app.close();
