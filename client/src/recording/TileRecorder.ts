import { drawFace } from '../overlay/drawFace.ts';
import type { FaceTracks } from '../overlay/FaceTracks.ts';
import { cueText, toWebVtt, type Cue } from './webvtt.ts';

const FPS = 25;
/** Codecs MP4 can hold as they are come first: the conversion then only remuxes (seconds, not minutes). */
const MIME_TYPES = ['video/mp4;codecs=avc1', 'video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'];

export interface Recording {
  video: Blob;
  mimeType: string;
  /** The affect track, timed against the recording. */
  vtt: string;
}

/**
 * Records a video with its affect overlay: each frame, the video and the overlay are drawn onto one
 * canvas (at the video's own resolution, unmirrored, as the other participants see it) and the canvas
 * stream goes to a MediaRecorder. The subtitles follow what the overlay showed.
 */
export class TileRecorder {
  readonly #canvas = document.createElement('canvas');
  readonly #chunks: Blob[] = [];
  readonly #cues: Cue[] = [];
  readonly #startedAt = performance.now();
  readonly #recorder: MediaRecorder;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly tracks: FaceTracks,
    /** Whose video it is: the subtitles name them. */
    private readonly displayName: string,
  ) {
    if (video.videoWidth === 0) throw new Error('the video has no frames yet');
    this.#canvas.width = video.videoWidth;
    this.#canvas.height = video.videoHeight;
    const mimeType = MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type));
    if (!mimeType) throw new Error('this browser cannot record video');
    this.#recorder = new MediaRecorder(this.#canvas.captureStream(FPS), { mimeType, videoBitsPerSecond: 2_500_000 });
    this.#recorder.ondataavailable = (event) => this.#chunks.push(event.data);
    this.#draw();
    this.#recorder.start(1000);
    // A timer, not requestAnimationFrame: recording goes on while the tab is in the background.
    this.#timer = setInterval(() => this.#draw(), 1000 / FPS);
  }

  /** Call after each affect event applied to the tracks: starts a new cue when the text changes. */
  note(): void {
    const text = cueText(
      this.tracks.visible().map((f) => f.event),
      this.displayName,
    );
    const last = this.#cues.at(-1);
    if (last?.text === text) return;
    const now = this.#elapsed();
    if (last) last.end = now;
    this.#cues.push({ start: now, end: now, text });
  }

  async stop(): Promise<Recording> {
    clearInterval(this.#timer);
    const last = this.#cues.at(-1);
    if (last) last.end = this.#elapsed();
    const stopped = new Promise((resolve) => (this.#recorder.onstop = resolve));
    this.#recorder.stop();
    await stopped;
    const mimeType = this.#recorder.mimeType;
    return { video: new Blob(this.#chunks, { type: mimeType }), mimeType, vtt: toWebVtt(this.#cues) };
  }

  #elapsed(): number {
    return (performance.now() - this.#startedAt) / 1000;
  }

  #draw(): void {
    const { width, height } = this.#canvas;
    const ctx = this.#canvas.getContext('2d')!;
    ctx.drawImage(this.video, 0, 0, width, height);
    const content = { x: 0, y: 0, w: width, h: height };
    for (const face of this.tracks.visible()) drawFace(ctx, face, content, false, 'full');
  }
}
