import type { AffectEvent, AffectStreamEvent } from '../../../protocol/affect-event.ts';
import { COMPACT_BELOW_PX, drawFace } from './drawFace.ts';
import { FaceTracks, HOLD_MS, type VisibleFace } from './FaceTracks.ts';
import { containedRect } from './geometry.ts';
import { LatencyWindow } from './LatencyWindow.ts';

/**
 * The affect overlay of one video tile: a canvas over the video, redrawn when events arrive and while
 * faces fade; a latency readout; and a text mirror of the labels for screen readers (and tests).
 */
export class TileOverlay {
  readonly tracks = new FaceTracks();
  readonly latency = new LatencyWindow();
  /** Goes over the video; the other two go wherever the tile wants them. */
  readonly canvas = document.createElement('canvas');
  readonly latencyText = document.createElement('p');
  readonly labels = document.createElement('p');
  readonly #resize = new ResizeObserver(() => this.#invalidate());
  /** Events already painted once: latency is measured at an event's first paint. */
  readonly #painted = new WeakSet<AffectEvent>();
  #frame = 0;
  #holdTimer: ReturnType<typeof setTimeout> | undefined;
  #enabled = true;
  #detailed = false;
  #spokenLabels = '';

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly mirrored: boolean,
  ) {
    this.canvas.className = 'overlay';
    this.canvas.setAttribute('aria-hidden', 'true');
    this.latencyText.className = 'latency';
    this.latencyText.title = 'Arrival of the frame at the server to overlay on this screen; assumes synchronised clocks';
    this.labels.className = 'visually-hidden affect-labels';
    this.labels.setAttribute('aria-live', 'polite');
    this.#resize.observe(video);
    video.addEventListener('resize', () => this.#invalidate());
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  set enabled(on: boolean) {
    this.#enabled = on;
    this.canvas.hidden = !on;
    this.latencyText.hidden = !on;
    this.#invalidate();
  }

  /** The full panel even on a small view (the tile is pinned, hovered, focused or tapped). */
  set detailed(on: boolean) {
    if (on === this.#detailed) return;
    this.#detailed = on;
    this.#invalidate();
  }

  apply(event: AffectStreamEvent): void {
    this.tracks.apply(event);
    this.#invalidate();
  }

  dispose(): void {
    this.#resize.disconnect();
    cancelAnimationFrame(this.#frame);
    clearTimeout(this.#holdTimer);
    this.#frame = -1;
  }

  #invalidate(): void {
    if (this.#frame === 0) this.#frame = requestAnimationFrame(() => this.#draw());
  }

  #draw(): void {
    this.#frame = 0;
    const faces = this.tracks.visible();
    this.#mirrorLabels(faces);
    if (!this.#enabled) return;
    const dpr = window.devicePixelRatio || 1;
    const w = this.video.clientWidth;
    const h = this.video.clientHeight;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
    }
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const content = containedRect(w, h, this.video.videoWidth, this.video.videoHeight);
    const detail = this.#detailed || content.w >= COMPACT_BELOW_PX ? 'full' : 'compact';
    this.canvas.dataset.detail = detail;
    for (const face of faces) {
      drawFace(ctx, face, content, this.mirrored, detail);
      if (!this.#painted.has(face.event)) {
        this.#painted.add(face.event);
        // arrivalTime is the server's wall clock: comparable with this one only when the clocks are synchronised.
        this.latency.add(Date.now() - face.event.arrivalTime);
      }
    }
    this.#showLatency();
    // Without events a face still changes: redraw every frame while one fades, and wake up when the
    // hold time of the others has run out (new events invalidate sooner anyway).
    clearTimeout(this.#holdTimer);
    if (faces.some((f) => f.alpha < 1)) this.#invalidate();
    else if (faces.length > 0) this.#holdTimer = setTimeout(() => this.#invalidate(), HOLD_MS + 20);
  }

  #showLatency(): void {
    if (this.latency.count === 0) return;
    const p50 = Math.round(this.latency.quantile(0.5));
    const p95 = Math.round(this.latency.quantile(0.95));
    this.latencyText.dataset.p50 = String(p50);
    this.latencyText.dataset.p95 = String(p95);
    this.latencyText.textContent = `arrival→overlay ${p50} ms (p95 ${p95})`;
  }

  /** Announces label changes only: events arrive ~15 times a second, far too often to read out. */
  #mirrorLabels(faces: VisibleFace[]): void {
    const labels = faces.map((f) => `${f.event.expression.label}`).join('|');
    if (labels === this.#spokenLabels) return;
    this.#spokenLabels = labels;
    this.labels.textContent =
      faces.length === 0
        ? 'No face'
        : faces
            .map((f, i) => {
              const p = f.event.expression.probs[f.event.expression.label] ?? 0;
              return `Face ${i + 1}: ${f.event.expression.label} ${Math.round(p * 100)}%`;
            })
            .join('; ');
  }
}
