import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { frameRateFilter } from '../../server/src/media/frameRate.ts';

const run = promisify(execFile);

/** The times (s) of the frames real ffmpeg lets through: `source` makes the frames, the filter thins them. */
async function kept(fps: number, source: string, seconds: number, before = 'null'): Promise<number[]> {
  const { stderr } = await run('ffmpeg', [
    '-hide_banner', '-nostats', '-loglevel', 'info',
    '-f', 'lavfi', '-i', `testsrc=size=64x48:rate=${source}:duration=${seconds}`,
    '-vf', `${before},${frameRateFilter(fps)},showinfo=checksum=0`,
    '-fps_mode', 'passthrough', '-f', 'null', '-',
  ]);
  return [...stderr.matchAll(/pts_time:\s*([\d.]+)/g)].map((m) => Number(m[1]));
}

describe('frameRateFilter (real ffmpeg)', () => {
  it('thins a 30 fps source to 15 fps, evenly', async () => {
    const times = await kept(15, '30', 4);
    expect(times).toHaveLength(60);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (const gap of gaps) expect(gap).toBeCloseTo(1 / 15, 3);
  });

  it('delivers the target rate from a source that is not a multiple of it (20 -> 15 fps)', async () => {
    const times = await kept(15, '20', 10);
    expect(times.length).toBeGreaterThanOrEqual(148);
    expect(times.length).toBeLessThanOrEqual(151);
  });

  it('passes a source slower than the target untouched', async () => {
    expect(await kept(15, '10', 3)).toHaveLength(30);
  });
});

describe('frameRateFilter on irregular sources (real ffmpeg)', () => {
  it('keeps frames that are a little early: 10 fps with every other frame 5 ms ahead stays 10 fps', async () => {
    const times = await kept(10, '10', 3, `settb=1/1000,setpts='PTS-if(mod(N,2),0.005/TB,0)'`);
    expect(times).toHaveLength(30);
  });

  it('restarts its grid after a pause instead of letting a burst through', async () => {
    // 30 fps with the second second missing, thinned to 10 fps.
    const times = await kept(10, '30', 3, `select='not(between(t,1,2))'`);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(0.09);
    expect(times.length).toBeGreaterThanOrEqual(19);
    expect(times.length).toBeLessThanOrEqual(21);
  });
});
