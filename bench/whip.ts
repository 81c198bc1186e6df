/**
 * How soon a WHIP publisher is analysed: headless Chromium publishes the face video over WHIP (RFC 9725) and a
 * subscriber waits for the first affect event of its video. Reported per run and as the median: the POST's 201
 * -> that event at the subscriber. For comparison, a call page joining the same way (its join ack -> its first
 * event): the call page then still creates its transport and producer, the WHIP client has them already.
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

/** When the first affect event of a peer in `roomId` reaches a subscriber, from `start()` on. */
async function firstEvent(roomId: string, start: () => Promise<{ startedAt: number; peerId: () => string | undefined }>): Promise<number> {
  let firstAt: number | undefined;
  let started: Awaited<ReturnType<typeof start>> | undefined;
  const watcher = await AffectSubscriber.connect({
    url: app.url,
    token: await app.subscriberToken({ room: roomId }, 600),
    subscriptions: [{ roomId }],
    onEvent: (event) => {
      if (event.type === 'affect' && firstAt === undefined && event.peerId === started?.peerId()) firstAt = Date.now();
    },
  });
  try {
    started = await start();
    const deadline = Date.now() + FIRST_EVENT_TIMEOUT_MS;
    while (firstAt === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return firstAt === undefined ? Number.NaN : firstAt - started.startedAt;
  } finally {
    watcher.close();
  }
}

const whip: number[] = [];
const call: number[] = [];
const page = await whipClientPage(browser, app.url);
for (let run = 0; run < runs; run++) {
  const roomId = `bench-whip-${run}`;
  const ms = await firstEvent(roomId, async () => {
    const answer = await publish(page, `${app.url}/whip/${roomId}`, undefined, false);
    if (answer.status !== 201) throw new Error(`POST answered ${answer.status}: ${answer.body}`);
    const sessionId = answer.location!.split('/').at(-1)!;
    const peerId = app.whip.get(sessionId)?.peer.id;
    return { startedAt: answer.answeredAt, peerId: () => peerId };
  });
  await unpublish(page);
  whip.push(ms);
  console.log(`WHIP run ${run + 1}: first affect event ${fmt(ms, 0)} ms after the 201`);

  const callRoom = `bench-call-${run}`;
  const callPage = await browser.newPage();
  let peerId: string | undefined;
  const callMs = await firstEvent(callRoom, async () => {
    peerId = await joinCall(callPage, app.url, callRoom, 'Bench');
    return { startedAt: Date.now(), peerId: () => peerId };
  });
  await callPage.close();
  call.push(callMs);
  console.log(`call page run ${run + 1}: first affect event ${fmt(callMs, 0)} ms after joining`);
}

const results = {
  machine: describeMachine(),
  runs,
  whipFirstEventMs: { median: median(whip), all: whip },
  callPageFirstEventMs: { median: median(call), all: call },
};
console.log(`\n${describeMachine()}`);
console.log(`WHIP 201 -> first affect event: median ${fmt(median(whip), 0)} ms over ${runs} runs (${whip.map((v) => fmt(v, 0)).join(', ')})`);
console.log(`call page join -> first affect event: median ${fmt(median(call), 0)} ms (${call.map((v) => fmt(v, 0)).join(', ')})`);
writeResults(values.json, 'whip', results);

await browser.close();
await app.close();
