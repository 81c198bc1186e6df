import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AffectStreamEventSchema, type AffectEvent, type AffectStreamEvent } from '../../protocol/affect-event.ts';
import { promisify } from 'node:util';
import { audioOnly, faceVideoMp4, faceVideoWithAudio, longFaceVideo, noFaces, portraitFaceVideo, variableRateFaceVideo } from './media.ts';

/** The CLI as a user runs it; resolves with its exit code and output whatever the code. */
function analyse(...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'server/src/tools/analyse.ts', '--quiet', ...args], { timeout: 120_000 }, (error, _stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr }),
    );
  });
}

const readEvents = async (file: string): Promise<AffectStreamEvent[]> =>
  (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => AffectStreamEventSchema.parse(JSON.parse(line)));
const affectOnly = (events: AffectStreamEvent[]) => events.filter((e): e is AffectEvent => e.type === 'affect');

let out: string;
let clip: string;
beforeAll(async () => {
  out = await mkdtemp(path.join(os.tmpdir(), 'analyse-test-'));
  clip = await faceVideoMp4(4);
});
afterAll(() => rm(out, { recursive: true, force: true }));

describe('npm run analyse on the face video (real ffmpeg, vision workers, model)', () => {
  it('writes schema-valid JSON Lines, a wide CSV and WebVTT, with a face on nearly every frame', async () => {
    const { code, stderr } = await analyse(clip, '--out', out);
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/complete \(exit code 0\): 100 frames \(640x480, 4\.0 s of source\)/);

    const events = await readEvents(path.join(out, 'cap12-640x480-4s.jsonl'));
    const faces = affectOnly(events);
    const frames = new Set(faces.map((e) => e.sourceTime));
    // 100 frames at 25 fps; the tracker confirms a face after 3 detections, so the first two frames have none.
    expect(frames.size).toBeGreaterThanOrEqual(95);
    expect(new Set(faces.map((e) => e.faceId)).size).toBe(1);
    for (const [i, e] of faces.entries()) {
      expect(e.sourceTime! % 40).toBe(0);
      if (i > 0) expect(e.sourceTime!).toBeGreaterThan(faces[i - 1]!.sourceTime!);
      expect(e.frame).toEqual({ width: 640, height: 480 });
      expect(e.box.w).toBeGreaterThan(0.1);
    }
    expect(faces.at(-1)!.sourceTime).toBe(3960);
    // The stream ends with the face still in view: its track is closed, at the time it was last seen.
    expect(events.at(-1)).toMatchObject({ type: 'face-lost', faceId: faces[0]!.faceId, sourceTime: 3960 });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));

    const [header, ...rows] = (await readFile(path.join(out, 'cap12-640x480-4s.csv'), 'utf8')).trim().split('\n');
    const columns = header!.split(',');
    expect(columns.slice(0, 11)).toEqual(['frame', 'timestamp', 'face_id', 'confidence', 'box_x', 'box_y', 'box_w', 'box_h', 'valence', 'arousal', 'expression']);
    expect(columns.filter((c) => c.startsWith('p_'))).toHaveLength(7);
    expect(columns.filter((c) => /^AU\d+_p$/.test(c))).toHaveLength(12);
    expect(columns.filter((c) => /^AU\d+_c$/.test(c))).toHaveLength(12);
    expect(rows).toHaveLength(faces.length);
    rows.forEach((row, i) => {
      const cells = row.split(',');
      expect(cells).toHaveLength(columns.length);
      const at = (name: string) => cells[columns.indexOf(name)]!;
      expect(Number(at('timestamp')) * 1000).toBeCloseTo(faces[i]!.sourceTime!, 6);
      expect(Number(at('valence'))).toBeCloseTo(faces[i]!.valence, 5);
      expect(at('expression')).toBe(faces[i]!.expression.label);
      const probs = columns.filter((c) => c.startsWith('p_')).map((c) => Number(at(c)));
      expect(probs.reduce((a, b) => a + b)).toBeCloseTo(1, 4);
      for (const c of columns.filter((c) => c.endsWith('_c'))) expect(['0', '1']).toContain(at(c));
    });

    const vtt = await readFile(path.join(out, 'cap12-640x480-4s.vtt'), 'utf8');
    expect(vtt.startsWith('WEBVTT\n')).toBe(true);
    const cues = [...vtt.matchAll(/^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\nface \d+: \w+ \d+% · valence -?\d\.\d\d · arousal -?\d\.\d\d/gm)];
    expect(cues).toHaveLength(frames.size);
    expect(cues.at(-1)!.slice(1, 3)).toEqual(['00:00:03.960', '00:00:04.000']);
  });

  it('--fps 10 --start --duration --jsonl to a file: 10 frames a second of the part asked for', async () => {
    const file = path.join(out, 'part.jsonl');
    const { code, stderr } = await analyse(clip, '--fps', '10', '--start', '1', '--duration', '2', '--out', file);
    expect(code, stderr).toBe(0);
    expect(existsSync(path.join(out, 'part.csv'))).toBe(false);
    const times = [...new Set(affectOnly(await readEvents(file)).map((e) => e.sourceTime!))];
    // 20 frames from 1.0 s at 100 ms steps; the first two are confirming the track.
    expect(times.length).toBeGreaterThanOrEqual(17);
    expect(times.every((t) => t >= 1000 && t < 3000 && Math.round(t) % 100 === 0)).toBe(true);
  });

  it('analyses a portrait (rotated) and a variable frame rate source at their true size and times', async () => {
    const portrait = await analyse(await portraitFaceVideo(4), '--jsonl', '--duration', '1', '--out', out);
    expect(portrait.code, portrait.stderr).toBe(0);
    const upright = affectOnly(await readEvents(path.join(out, 'cap12-portrait-4s.jsonl')));
    expect(upright[0]!.frame).toEqual({ width: 480, height: 640 });
    // The face is upright in the turned picture: taller than wide in pixels.
    expect(upright[0]!.box.h * 640).toBeGreaterThan(upright[0]!.box.w * 480 * 0.8);

    const vfr = await analyse(await variableRateFaceVideo(), '--jsonl', '--out', out);
    expect(vfr.code, vfr.stderr).toBe(0);
    const times = [...new Set(affectOnly(await readEvents(path.join(out, 'cap12-vfr-4s.jsonl'))).map((e) => e.sourceTime!))];
    const steps = new Set(times.slice(1).map((t, i) => Math.round(t - times[i]!)));
    // 40 ms between frames where all were kept, 80 where every other one was dropped.
    expect([...steps].sort()).toEqual([40, 80]);
  });
});

/** How many pixels of the frame at `seconds` are the overlay's green (the box outline). */
async function greenPixels(video: string, seconds: number): Promise<number> {
  const { stdout } = await promisify(execFile)(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-ss', String(seconds), '-i', video, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  let n = 0;
  for (let i = 0; i < stdout.length; i += 3) if (stdout[i + 1]! > 170 && stdout[i]! < 130 && stdout[i + 2]! < 130) n++;
  return n;
}

describe('npm run analyse --overlay', () => {
  it('draws the faces into a copy of the part analysed, its audio kept', async () => {
    const source = await faceVideoWithAudio(4);
    const overlay = path.join(out, 'overlay.mp4');
    const { code, stderr } = await analyse(source, '--start', '1', '--duration', '2', '--jsonl', '--out', out, '--overlay', overlay);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`-> ${path.join(out, 'cap12-tone-4s.jsonl')}, ${overlay}`);
    const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,duration', '-of', 'csv=p=0', overlay]);
    const streams = stdout.trim().split('\n').map((line) => line.split(','));
    expect(streams.map(([type]) => type)).toEqual(['video', 'audio']);
    for (const [, duration] of streams) expect(Number(duration)).toBeCloseTo(2, 1);
    // The box is drawn: the overlay's frame has its outline's green, the source's frame at the same time has little.
    expect(await greenPixels(overlay, 1)).toBeGreaterThan(500);
    expect(await greenPixels(source, 2)).toBeLessThan(100);
    expect((await analyse(clip, clip, '--out', out, '--overlay', overlay)).code).toBe(2);
  });
});

describe('npm run analyse on bad input: a clear message, its own exit code, nothing lost', () => {
  it('a missing file: unreadable (6), no output', async () => {
    const missing = path.join(out, 'no-such-video.mp4');
    const { code, stderr } = await analyse(missing, '--out', out);
    expect(code).toBe(6);
    expect(stderr).toContain(`${missing}: unreadable (exit code 6): ${missing}: cannot read it (${missing}: No such file or directory)`);
    expect(existsSync(path.join(out, 'no-such-video.jsonl.partial'))).toBe(false);
  });

  it('a file that is not media: unreadable (6)', async () => {
    const junk = path.join(out, 'junk.mp4');
    await writeFile(junk, 'not a video at all\n');
    const { code, stderr } = await analyse(junk, '--out', out);
    expect(code).toBe(6);
    expect(stderr).toMatch(/junk\.mp4: cannot read it \(.*Invalid data found/);
  });

  it('an audio-only file: no video stream (5)', async () => {
    const { code, stderr } = await analyse(await audioOnly(), '--out', out);
    expect(code).toBe(5);
    expect(stderr).toMatch(/no video stream \(it has audio\)/);
  });

  it('a cut-off file: the frames before the cut are analysed, flushed to .partial files and reported (4)', async () => {
    const cut = path.join(out, 'cut.mp4');
    const whole = await readFile(clip);
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.5)));
    const { code, stderr } = await analyse(cut, '--out', out);
    expect(code).toBe(4);
    expect(stderr).toMatch(/cut\.mp4: truncated \(exit code 4\): \d+ frames .*decoding stopped early at \d\.\d s of 4\.0 s \(the file is cut off or damaged\)/);
    expect(stderr).toContain('cut.jsonl.partial');
    expect(existsSync(path.join(out, 'cut.jsonl'))).toBe(false);
    const events = await readEvents(path.join(out, 'cut.jsonl.partial'));
    expect(affectOnly(events).length).toBeGreaterThan(20);
    expect(events.at(-1)!.type).toBe('face-lost');
    expect(await readFile(path.join(out, 'cut.vtt.partial'), 'utf8')).toMatch(/\nNOTE partial: truncated \(exit code 4\)/);
    expect((await stat(path.join(out, 'cut.csv.partial'))).size).toBeGreaterThan(1000);
  });

  it('Ctrl-C: the frames in flight finish, the output so far is flushed as .partial and valid (130)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/tools/analyse.ts', await longFaceVideo(5), '--out', out, '--quiet']);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    // Interrupted once frames are being written (a 5-minute input is far from done then).
    const jsonl = path.join(out, 'cap12-looped-5min.jsonl.partial');
    await expect.poll(async () => existsSync(jsonl) && (await stat(jsonl)).size > 0, { timeout: 60_000, interval: 200 }).toBe(true);
    child.kill('SIGINT');
    const [code] = await once(child, 'close');
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/cap12-looped-5min\.mp4: interrupted \(exit code 130\): \d+ frames/);
    const events = await readEvents(jsonl);
    expect(affectOnly(events).length).toBeGreaterThan(0);
    // Every face still tracked when it stopped is closed: the partial output is consistent.
    expect(events.at(-1)!.type).toBe('face-lost');
    expect(existsSync(path.join(out, 'cap12-looped-5min.jsonl'))).toBe(false);
  });

  it('an output that cannot be written (a full disk): the run stops, says why, fails (1), never hangs', async () => {
    const full = path.join(out, 'full');
    await mkdir(full);
    // The JSON Lines output is written through a link to /dev/full: every write fails with ENOSPC.
    await symlink('/dev/full', path.join(full, 'cap12-640x480-10s.jsonl.partial'));
    const { code, stderr } = await analyse(await faceVideoMp4(10), '--jsonl', '--out', full);
    expect(code).toBe(1);
    // The first write (a buffer's worth, ~200 frames in) fails: no frame is read after it.
    const [, frames] = /failed \(exit code 1\): (\d+) frames .*the analysis stopped: ENOSPC/.exec(stderr) ?? [];
    expect(Number(frames), stderr).toBeLessThan(250);
  });

  it('a video without faces: analysed to the end, outputs whole but empty, and says so (3)', async () => {
    const { code, stderr } = await analyse(await noFaces(), '--out', out);
    expect(code).toBe(3);
    expect(stderr).toMatch(/no-faces \(exit code 3\): 50 frames .*no face found in 50 frames/);
    expect(await readFile(path.join(out, 'testsrc-2s.jsonl'), 'utf8')).toBe('');
    expect((await readFile(path.join(out, 'testsrc-2s.vtt'), 'utf8')).trim()).toBe('WEBVTT');
  });

  it('several inputs: each analysed and summarised, the exit code the worst of them; wrong flags: usage (2)', async () => {
    const { code, stderr } = await analyse(await noFaces(), path.join(out, 'gone.mp4'), '--jsonl', '--out', path.join(out, 'many'));
    expect(code).toBe(6);
    expect(stderr).toMatch(/testsrc-2s\.mp4: no-faces/);
    expect(stderr).toMatch(/gone\.mp4: unreadable/);
    expect((await analyse(clip, '--fps', 'fast', '--out', out)).code).toBe(2);
    expect((await analyse(clip)).stderr).toContain('--out DIR|FILE is required');
  });
});
