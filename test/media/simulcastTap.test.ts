import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import {
  faceVideoVp8,
  faceVideoVp8HalfLayer,
  replaySimulcastIntoRoom,
  startRtpReplayer,
  startUdpMerger,
  type ReplayedStream,
  type SimulcastSender,
} from '../../bench/lib/rtpReplay.ts';
import type { App } from '../../server/src/app.ts';
import { startTestServer } from '../helpers/server.ts';

let layers: string[];
let merger: SimulcastSender;
let replayer: SimulcastSender;

beforeAll(async () => {
  layers = [await faceVideoVp8HalfLayer(), await faceVideoVp8()];
  merger = startUdpMerger();
  replayer = startRtpReplayer();
});

afterAll(() => {
  merger?.close();
  replayer?.close();
});

/** A server with `env` tapping a simulcast sender (320x240 and 640x480 layers) that `send` starts: the layer it asks for, its first frames. */
async function tapOf(
  env: Record<string, string>,
  send: (app: App) => Promise<ReplayedStream>,
): Promise<{ layer: number | undefined; frames: number[][] }> {
  let app: App | undefined;
  let replay: ReplayedStream | undefined;
  try {
    app = await startTestServer({ ANALYSIS_ENABLED: 'false', ...env });
    replay = await send(app);
    const id = replay.producerId;
    const frames = await firstValueFrom(app.taps!.frames$.pipe(filter((f) => f.streamId === id), take(5), toArray(), timeout(15_000)));
    return { layer: app.taps!.get(id)!.analysedLayer, frames: frames.map((f) => [f.width, f.height, f.pixels.length]) };
  } finally {
    replay?.stop();
    await app?.close();
  }
}

describe('the frame tap of a simulcast sender', () => {
  it('decodes the half-size layer by default, as it arrives (not enlarged to the tap box)', async () => {
    // The benchmarks' replayer as the sender: what bench:pipeline measures is decoded as a browser's would be.
    const { layer, frames } = await tapOf({}, (app) => replaySimulcastIntoRoom(app, 'layers', layers, 7000, replayer));
    expect(layer).toBe(0);
    expect(frames).toEqual(Array(5).fill([320, 240, 320 * 240 * 3]));
  });

  // The move to the full layer itself needs the sender's reports of both layers: with a real browser (the call
  // test run once with this setting) the tap decoded 320x240 frames for ~8 s, then 640x480 ones. Replayed layers
  // carry no usable reports, so here only the request is checked.
  it('asks the SFU for the full layer with TAP_LAYER_MAX_DOWNSCALE=1', async () => {
    expect((await tapOf({ TAP_LAYER_MAX_DOWNSCALE: '1' }, (app) => replaySimulcastIntoRoom(app, 'layers', layers, 7000, merger))).layer).toBe(1);
  });
});
