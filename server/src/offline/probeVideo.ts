import { execFile } from 'node:child_process';
import { z } from 'zod';
import { AnalyseError } from './AnalyseError.ts';

/** What the analysis needs to know of a source before decoding it. */
export interface VideoProbe {
  /** Size as shown (after the rotation in the file's display matrix, which ffmpeg applies when decoding), px. */
  width: number;
  height: number;
  /** Degrees clockwise the stored picture is turned when shown: 0, 90, 180 or 270. */
  rotation: number;
  /** Of the video stream, else of the container; undefined for a live or unindexed source. */
  durationMs: number | undefined;
  /** Average frames per second; undefined when the container does not say. */
  frameRate: number | undefined;
  /** The nominal and the average frame rate differ: frames are not evenly spaced. */
  variableFrameRate: boolean;
  codec: string;
}

const PROBE_TIMEOUT_MS = 60_000;

const StreamSchema = z.object({
  codec_type: z.string(),
  codec_name: z.string().default('unknown'),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  r_frame_rate: z.string().optional(),
  avg_frame_rate: z.string().optional(),
  duration: z.string().optional(),
  disposition: z.object({ attached_pic: z.number().optional() }).optional(),
  tags: z.object({ rotate: z.string().optional() }).optional(),
  side_data_list: z.array(z.object({ rotation: z.number().optional() })).optional(),
});
const ProbeSchema = z.object({
  streams: z.array(StreamSchema).default([]),
  format: z.object({ duration: z.string().optional() }).optional(),
});

const rate = (text: string | undefined): number | undefined => {
  const [num, den] = (text ?? '').split('/').map(Number);
  return num && den ? num / den : undefined;
};
const seconds = (text: string | undefined): number | undefined => {
  const s = Number(text);
  return text !== undefined && Number.isFinite(s) && s > 0 ? s * 1000 : undefined;
};

/** ffprobe's view of `input`; fails with `unreadable` (no such file, not media, timed out) or `no-video`. */
export async function probeVideo(input: string): Promise<VideoProbe> {
  const json = await new Promise<string>((resolve, reject) => {
    execFile(
      'ffprobe',
      ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', input],
      { timeout: PROBE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const reason = error.killed ? `ffprobe gave no answer in ${PROBE_TIMEOUT_MS / 1000} s` : stderr.trim().split('\n').at(-1) || error.message;
        reject(new AnalyseError('unreadable', `${input}: cannot read it (${reason})`));
      },
    );
  });
  const parsed = ProbeSchema.safeParse(JSON.parse(json));
  if (!parsed.success) throw new AnalyseError('unreadable', `${input}: ffprobe's description of it is not understood`);
  // A cover image (attached picture) is a video stream of one frame: not a video.
  const video = parsed.data.streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic && s.width && s.height);
  if (!video) {
    const kinds = parsed.data.streams.map((s) => s.codec_type);
    throw new AnalyseError('no-video', `${input}: no video stream (${kinds.length ? `it has ${kinds.join(', ')}` : 'it has no streams'})`);
  }
  const turned = video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? -Number(video.tags?.rotate ?? 0);
  // The display matrix turns counter-clockwise; people (and the old `rotate` tag) say clockwise.
  const rotation = (((-turned % 360) + 360) % 360) as number;
  const sideways = rotation === 90 || rotation === 270;
  const nominal = rate(video.r_frame_rate);
  const average = rate(video.avg_frame_rate);
  return {
    width: sideways ? video.height! : video.width!,
    height: sideways ? video.width! : video.height!,
    rotation,
    durationMs: seconds(video.duration) ?? seconds(parsed.data.format?.duration),
    frameRate: average ?? nominal,
    variableFrameRate: nominal !== undefined && average !== undefined && Math.abs(nominal - average) > 0.01 * nominal,
    codec: video.codec_name,
  };
}
