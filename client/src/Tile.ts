import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import { download, fileTimestamp } from './download.ts';
import { TileOverlay } from './overlay/TileOverlay.ts';
import { toMp4 } from './recording/toMp4.ts';
import { TileRecorder } from './recording/TileRecorder.ts';

/**
 * One participant's tile: video, affect overlay, name, whether the person is analysed, and the tile's
 * controls (pin, overlay on/off, recording). The overlay shows its full panel (AUs, circumplex) on a large
 * tile, and on a small one while the tile is pinned, hovered, focused or tapped.
 */
export class Tile {
  readonly element = document.createElement('figure');
  readonly video = document.createElement('video');
  readonly #caption = document.createElement('figcaption');
  readonly #analysis = document.createElement('span');
  readonly #overlay: TileOverlay;
  readonly #pinButton = document.createElement('button');
  readonly #overlayButton = document.createElement('button');
  readonly #recordButton = document.createElement('button');
  readonly #status = document.createElement('p');
  readonly #noVideo = document.createElement('p');
  #recorder: TileRecorder | undefined;
  #name = '';
  #pinned = false;
  #hovered = false;
  #tapped = false;

  constructor(
    peerId: string,
    name: string,
    readonly self: boolean,
    onPin: (tile: Tile) => void,
  ) {
    this.element.className = self ? 'tile self' : 'tile';
    this.element.dataset.peerId = peerId;
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.muted = self;
    this.video.srcObject = new MediaStream();
    this.#overlay = new TileOverlay(this.video, self);

    const button = (element: HTMLButtonElement, className: string, onClick: () => void) => {
      element.type = 'button';
      element.className = className;
      element.addEventListener('click', (event) => {
        event.stopPropagation(); // not a tap on the video
        onClick();
      });
      return element;
    };
    button(this.#pinButton, 'pin', () => onPin(this)).textContent = 'Pin';
    button(this.#overlayButton, 'overlay-toggle', () => this.#toggleOverlay()).textContent = 'Overlay';
    this.#overlayButton.setAttribute('aria-pressed', 'true');
    button(this.#recordButton, 'record', () => void this.#toggleRecording());
    this.#status.className = 'tile-status';
    this.#status.setAttribute('role', 'status');
    this.#analysis.className = 'analysis';
    this.#noVideo.className = 'no-video';
    this.#noVideo.textContent = 'No video shown';

    const top = document.createElement('div');
    top.className = 'tile-top';
    const tools = document.createElement('div');
    tools.className = 'tile-tools';
    tools.append(this.#pinButton, this.#overlayButton, this.#recordButton);
    top.append(this.#analysis, tools);
    const bottom = document.createElement('div');
    bottom.className = 'tile-bottom';
    bottom.append(this.#caption, this.#overlay.latencyText);
    this.element.append(this.video, this.#noVideo, this.#overlay.canvas, top, this.#status, bottom, this.#overlay.labels);

    // The full overlay panel on demand: pointer over the tile, keyboard focus in it, or a tap (phones).
    this.element.addEventListener('pointerenter', () => ((this.#hovered = true), this.#showDetail()));
    this.element.addEventListener('pointerleave', () => ((this.#hovered = false), this.#showDetail()));
    this.element.addEventListener('focusin', () => this.#showDetail());
    this.element.addEventListener('focusout', () => queueMicrotask(() => this.#showDetail()));
    this.element.addEventListener('click', () => ((this.#tapped = !this.#tapped), this.#showDetail()));
    this.rename(name);
    this.setAnalysed(undefined);
    this.#showVideo();
  }

  /** The self tile is made before the server has named this peer; its events arrive under that name. */
  setPeerId(peerId: string): void {
    this.element.dataset.peerId = peerId;
  }

  get stream(): MediaStream {
    return this.video.srcObject as MediaStream;
  }

  addTrack(track: MediaStreamTrack): void {
    this.stream.addTrack(track);
    this.#showVideo();
  }

  removeTrack(track: MediaStreamTrack): void {
    this.stream.removeTrack(track);
    this.#showVideo();
  }

  /** The name the person joined with (the self view shows "(you)" after it). */
  get name(): string {
    return this.#name;
  }

  rename(name: string): void {
    this.#name = name;
    this.#caption.textContent = this.self ? `${name} (you)` : name;
    this.element.setAttribute('aria-label', this.#caption.textContent);
    this.#pinButton.setAttribute('aria-label', `${this.#pinned ? 'Unpin' : 'Pin'} ${name}`);
    this.#overlayButton.setAttribute('aria-label', `Affect overlay for ${name}`);
    this.#showRecording(this.#recorder !== undefined);
    this.#showAnalysis();
  }

  set pinned(pinned: boolean) {
    this.#pinned = pinned;
    this.element.classList.toggle('pinned', pinned);
    this.#pinButton.setAttribute('aria-pressed', String(pinned));
    this.#pinButton.textContent = pinned ? 'Unpin' : 'Pin';
    this.rename(this.name);
    this.#showDetail();
  }

  /** Whether the server analyses this person's video; undefined while not known (before joining). */
  setAnalysed(analysed: boolean | undefined): void {
    if (analysed === undefined) delete this.element.dataset.analysed;
    else this.element.dataset.analysed = String(analysed);
    this.#showAnalysis();
  }

  affect(event: AffectStreamEvent): void {
    this.#overlay.apply(event);
    this.#recorder?.note();
  }

  dispose(): void {
    this.#overlay.dispose();
    void this.#recorder?.stop();
    this.element.remove();
  }

  /**
   * A participant without video (camera off, or a source the server pulls and analyses itself) is a tile
   * that says so; its faces' overlay is drawn on it all the same.
   */
  #showVideo(): void {
    this.#noVideo.hidden = this.self || this.stream.getVideoTracks().length > 0;
  }

  #showAnalysis(): void {
    const analysed = this.element.dataset.analysed;
    this.#analysis.hidden = analysed === undefined;
    this.#analysis.textContent = analysed === 'true' ? 'Analysed' : 'Not analysed';
    this.#analysis.title =
      analysed === 'true' ? `${this.name}'s facial expressions are being analysed` : `${this.name}'s video is not analysed`;
  }

  #showDetail(): void {
    this.#overlay.detailed = this.#pinned || this.#hovered || this.#tapped || this.element.contains(document.activeElement);
  }

  #toggleOverlay(): void {
    this.#overlay.enabled = !this.#overlay.enabled;
    this.#overlayButton.setAttribute('aria-pressed', String(this.#overlay.enabled));
  }

  #showRecording(recording: boolean): void {
    this.#recordButton.textContent = recording ? 'Stop' : 'Record';
    this.#recordButton.setAttribute('aria-label', recording ? `Stop recording ${this.name}` : `Record ${this.name} with overlay`);
    this.#recordButton.setAttribute('aria-pressed', String(recording));
  }

  async #toggleRecording(): Promise<void> {
    if (!this.#recorder) {
      try {
        this.#recorder = new TileRecorder(this.video, this.#overlay.tracks, this.name);
        this.#showRecording(true);
        this.#status.textContent = 'Recording…';
      } catch (error) {
        this.#status.textContent = `Cannot record: ${(error as Error).message}`;
      }
      return;
    }
    const recorder = this.#recorder;
    this.#recorder = undefined;
    this.#showRecording(false);
    this.#recordButton.disabled = true;
    try {
      const recording = await recorder.stop();
      this.#status.textContent = 'Converting to MP4…';
      const mp4 = await toMp4(recording.video, recording.mimeType, recording.vtt);
      download(`affect-${this.name}-${fileTimestamp()}.mp4`.replace(/[^\w.-]+/g, '_'), mp4);
      this.#status.textContent = 'Recording saved';
    } catch (error) {
      this.#status.textContent = `Recording failed: ${(error as Error).message}`;
    } finally {
      this.#recordButton.disabled = false;
    }
  }
}
