import { CallSession, type CallView } from './CallSession.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('join-form');
const controls = $<HTMLDivElement>('controls');
const tiles = $<HTMLElement>('tiles');
const status = $<HTMLParagraphElement>('status');

let session: CallSession | undefined;
let localMedia: MediaStream | undefined;

function tile(peerId: string, label: string, self = false): HTMLElement {
  let figure = tiles.querySelector<HTMLElement>(`[data-peer-id="${CSS.escape(peerId)}"]`);
  if (!figure) {
    figure = document.createElement('figure');
    figure.className = self ? 'tile self' : 'tile';
    figure.dataset.peerId = peerId;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = self;
    video.srcObject = new MediaStream();
    const caption = document.createElement('figcaption');
    figure.append(video, caption);
    tiles.append(figure);
  }
  figure.querySelector('figcaption')!.textContent = label;
  return figure;
}

function streamOf(peerId: string): MediaStream | undefined {
  const video = tiles.querySelector<HTMLVideoElement>(`[data-peer-id="${CSS.escape(peerId)}"] video`);
  return video?.srcObject as MediaStream | undefined;
}

const view: CallView = {
  addPeer: (peerId, name) => void tile(peerId, name),
  removePeer: (peerId) => tiles.querySelector(`[data-peer-id="${CSS.escape(peerId)}"]`)?.remove(),
  setPeerTrack: (peerId, track) => {
    const stream = streamOf(peerId) ?? (tile(peerId, ''), streamOf(peerId)!);
    stream.addTrack(track);
  },
  removePeerTrack: (peerId, track) => streamOf(peerId)?.removeTrack(track),
  setStatus: (text) => (status.textContent = text),
  ended: (reason) => {
    resetView();
    status.textContent = `The call ended (${reason}); rejoining…`;
    // Let the status be read before the join attempt replaces it.
    setTimeout(() => form.requestSubmit(), 500);
  },
};

function resetView(): void {
  session = undefined;
  // Turn the camera off between calls; the next join asks for it again.
  localMedia?.getTracks().forEach((track) => track.stop());
  localMedia = undefined;
  delete document.body.dataset.joinedAs;
  tiles.replaceChildren();
  form.hidden = false;
  controls.hidden = true;
}

async function cameraAndMicrophone(): Promise<MediaStream> {
  const video = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
  try {
    return await navigator.mediaDevices.getUserMedia({ video, audio: true });
  } catch {
    // No microphone (or refused): a call with video only is still worth having.
    return navigator.mediaDevices.getUserMedia({ video });
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const roomId = $<HTMLInputElement>('room').value.trim();
  const name = $<HTMLInputElement>('name').value.trim();
  form.hidden = true;
  void (async () => {
    try {
      localMedia ??= await cameraAndMicrophone();
      tile('self', `${name} (you)`, true).querySelector('video')!.srcObject = new MediaStream(localMedia.getVideoTracks());
      session = await CallSession.join(roomId, name, localMedia, view);
      controls.hidden = false;
      document.body.dataset.joinedAs = session.peerId;
    } catch (error) {
      resetView();
      status.textContent = `Could not join: ${(error as Error).message}`;
    }
  })();
});

$<HTMLButtonElement>('leave').addEventListener('click', () => {
  session?.leave();
  resetView();
  status.textContent = 'Left the call';
  $<HTMLButtonElement>('join').focus();
});

$<HTMLInputElement>('name').value ||= `Guest ${Math.floor(Math.random() * 1000)}`;
