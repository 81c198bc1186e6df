/**
 * How soon a WHIP publisher is analysed: headless Chromium publishes the face video over WHIP (RFC 9725) and a
 * subscriber waits for the first affect event of its video. Reported per run and as the median: the POST's 201
 * -> that event at the subscriber, then the events per second of the next 5 s and the analysed frame size. For
 * comparison, a call page joining the same way (its join ack -> its first event): the call page then still
 * creates its transport and producer, the WHIP client has them already.
 *   npm run bench:whip [-- --runs 5] [--json file]
 * Each run publishes into a room of its own and ends its session before the next, so the runs do not share a tap.
 */
import { parseArgs } from 'node:util';
import { AffectSubscriber } from '../client/src/AffectSubscriber.ts';
import { joinCall, launchBrowser } from '../test/helpers/browser.ts';
import { faceVideoY4m } from '../test/helpers/faceVideo.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { publish, unpublish, whipClientPage } from '../test/helpers/whipClient.ts';
import { describeMachine, writeResults } from './lib/report.ts';
import { fmt, median } from './lib/stats.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, json: { type: 'string' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new Error('--runs takes 1-50');
/** Longer than this without an event is a failed run, reported as such. */
const FIRST_EVENT_TIMEOUT_MS = 30_000;

const app = await startTestServer({ LOG_LEVEL: 'error' });
const browser = await launchBrowser(await faceVideoY4m());

/** After the first event, events are counted this long: the stream's steady rate. */
const RATE_WINDOW_MS = 5000;

interface Run {
  /** start -> first affect event at the subscriber, ms (NaN: none within FIRST_EVENT_TIMEOUT_MS). */
  firstEventMs: number;
  /** Affect events per second in the RATE_WINDOW_MS after the first. */
  eventsPerSecond: number;
  /** The analysed frame size, as the events say. */
  frame: string;
}

/** The first affect event of a peer in `roomId` after `start()`, and the events of the window after it. */
async function measure(roomId: string, start: () => Promise<{ startedAt: number; peerId: () => string | undefined }>): Promise<Run> {
  const arrivals: number[] = [];
  let frame = '';
  let started: Awaited<ReturnType<typeof start>> | undefined;
  const watcher = await AffectSubscriber.connect({
    url: app.url,
    token: await app.subscriberToken({ room: roomId }, 600),
    subscriptions: [{ roomId }],
    onEvent: (event) => {
      if (event.type !== 'affect' || event.peerId !== started?.peerId()) return;
      arrivals.push(Date.now());
      frame = `${event.frame.width}x${event.frame.height}`;
    },
  });
  try {
    started = await start();
    const deadline = Date.now() + FIRST_EVENT_TIMEOUT_MS;
    while (arrivals.length === 0 && Date.now() < deadline) await sleep(10);
    if (arrivals.length === 0) return { firstEventMs: Number.NaN, eventsPerSecond: 0, frame };
    const first = arrivals[0]!;
    await sleep(RATE_WINDOW_MS);
    const inWindow = arrivals.filter((t) => t > first && t <= first + RATE_WINDOW_MS).length;
    return { firstEventMs: first - started.startedAt, eventsPerSecond: inWindow / (RATE_WINDOW_MS / 1000), frame };
  } finally {
    watcher.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const describeRun = (run: Run) => `first affect event ${fmt(run.firstEventMs, 0)} ms, then ${fmt(run.eventsPerSecond)} events/s (${run.frame} frames)`;

const whip: Run[] = [];
const call: Run[] = [];
const page = await whipClientPage(browser, app.url);
for (let run = 0; run < runs; run++) {
  const roomId = `bench-whip-${run}`;
  whip.push(
    await measure(roomId, async () => {
      const answer = await publish(page, `${app.url}/whip/${roomId}`, undefined, false);
      if (answer.status !== 201) throw new Error(`POST answered ${answer.status}: ${answer.body}`);
      const peerId = app.whip.get(answer.location!.split('/').at(-1)!)?.peer.id;
      return { startedAt: answer.answeredAt, peerId: () => peerId };
    }),
  );
  await unpublish(page);
  console.log(`WHIP run ${run + 1}: ${describeRun(whip.at(-1)!)} after the 201`);

  const callRoom = `bench-call-${run}`;
  const callPage = await browser.newPage();
  let peerId: string | undefined;
  call.push(
    await measure(callRoom, async () => {
      peerId = await joinCall(callPage, app.url, callRoom, 'Bench');
      return { startedAt: Date.now(), peerId: () => peerId };
    }),
  );
  await callPage.close();
  console.log(`call page run ${run + 1}: ${describeRun(call.at(-1)!)} after joining`);
}

const summary = (list: Run[]) => ({
  firstEventMs: { median: median(list.map((r) => r.firstEventMs)), all: list.map((r) => r.firstEventMs) },
  eventsPerSecond: { median: median(list.map((r) => r.eventsPerSecond)), all: list.map((r) => r.eventsPerSecond) },
  frames: [...new Set(list.map((r) => r.frame))],
});
const results = { machine: describeMachine(), runs, whip: summary(whip), callPage: summary(call) };
console.log(`\n${describeMachine()}`);
for (const [name, list, from] of [['WHIP', whip, 'the 201'], ['call page', call, 'joining']] as const) {
  const { firstEventMs, eventsPerSecond, frames } = summary(list);
  console.log(
    `${name}: first affect event ${fmt(firstEventMs.median, 0)} ms after ${from} (median of ${runs}: ${firstEventMs.all.map((v) => fmt(v, 0)).join(', ')}), ` +
      `then ${fmt(eventsPerSecond.median)} events/s (median), frames ${frames.join(', ')}`,
  );
}
writeResults(values.json, 'whip', results);

await browser.close();
await app.close();
