import type { AffectStreamEvent } from '../../protocol/affect-event.ts';
import { download, fileTimestamp } from './download.ts';
import { TileOverlay } from './overlay/TileOverlay.ts';
import { toMp4 } from './recording/toMp4.ts';
import { TileRecorder } from './recording/TileRecorder.ts';

/** One participant's tile: video, affect overlay, and its own controls (overlay on/off, recording). */
export class Tile {
  readonly element = document.createElement('figure');
  readonly video = document.createElement('video');
  readonly #caption = document.createElement('figcaption');
  readonly #overlay: TileOverlay;
  readonly #overlayButton = document.createElement('button');
  readonly #recordButton = document.createElement('button');
  readonly #status = document.createElement('p');
  #recorder: TileRecorder | undefined;

  constructor(peerId: string, name: string, self: boolean) {
    this.element.className = self ? 'tile self' : 'tile';
    this.element.dataset.peerId = peerId;
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.muted = self;
    this.video.srcObject = new MediaStream();
    this.#overlay = new TileOverlay(this.video, self);

    const tools = document.createElement('div');
    tools.className = 'tile-tools';
    this.#overlayButton.type = 'button';
    this.#overlayButton.className = 'overlay-toggle';
    this.#overlayButton.textContent = 'Overlay';
    this.#overlayButton.setAttribute('aria-pressed', 'true');
    this.#overlayButton.addEventListener('click', () => this.#toggleOverlay());
    this.#recordButton.type = 'button';
    this.#recordButton.className = 'record';
    this.#recordButton.addEventListener('click', () => void this.#toggleRecording());
    this.#status.className = 'tile-status';
    this.#status.setAttribute('role', 'status');
    tools.append(this.#overlayButton, this.#recordButton);
    const stage = document.createElement('div');
    stage.className = 'stage';
    stage.append(this.video, this.#overlay.canvas, this.#status);
    const bar = document.createElement('div');
    bar.className = 'tile-bar';
    bar.append(this.#caption, this.#overlay.latencyText, tools);
    this.element.append(stage, bar, this.#overlay.labels);
    this.rename(name);
  }

  /** The self tile is made before the server has named this peer; its events arrive under that name. */
  setPeerId(peerId: string): void {
    this.element.dataset.peerId = peerId;
  }

  get stream(): MediaStream {
    return this.video.srcObject as MediaStream;
  }

  rename(name: string): void {
    this.#caption.textContent = name;
    this.element.setAttribute('aria-label', name);
    this.#overlayButton.setAttribute('aria-label', `Affect overlay for ${name}`);
    this.#showRecording(this.#recorder !== undefined);
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

  #toggleOverlay(): void {
    this.#overlay.enabled = !this.#overlay.enabled;
    this.#overlayButton.setAttribute('aria-pressed', String(this.#overlay.enabled));
  }

  #showRecording(recording: boolean): void {
    const name = this.#caption.textContent;
    this.#recordButton.textContent = recording ? 'Stop' : 'Record';
    this.#recordButton.setAttribute('aria-label', recording ? `Stop recording ${name}` : `Record ${name} with overlay`);
    this.#recordButton.setAttribute('aria-pressed', String(recording));
  }

  async #toggleRecording(): Promise<void> {
    if (!this.#recorder) {
      try {
        this.#recorder = new TileRecorder(this.video, this.#overlay.tracks);
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
      download(`affect-${this.#caption.textContent}-${fileTimestamp()}.mp4`.replace(/[^\w.-]+/g, '_'), mp4);
      this.#status.textContent = 'Recording saved';
    } catch (error) {
      this.#status.textContent = `Recording failed: ${(error as Error).message}`;
    } finally {
      this.#recordButton.disabled = false;
    }
  }
}
