import { unverifiedTokenRoom } from '../../protocol/tokens.ts';
import { CallSession, type CallView } from './CallSession.ts';
import { DeviceSelects } from './devices.ts';
import { Gallery } from './gallery/Gallery.ts';
import { Tile } from './Tile.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('join-form');
const controls = $<HTMLDivElement>('controls');
const gallery = new Gallery($<HTMLElement>('tiles'));
const status = $<HTMLParagraphElement>('status');
const muteButton = $<HTMLButtonElement>('mute');
const cameraButton = $<HTMLButtonElement>('camera-off');
const analysisButton = $<HTMLButtonElement>('analysis');
const analysisNote = $<HTMLParagraphElement>('analysis-note');
const devicesMenu = $<HTMLDetailsElement>('devices-menu');
const devices = new DeviceSelects($<HTMLSelectElement>('camera'), $<HTMLSelectElement>('microphone'));
/**
 * A participant token from the calling application (`#token=...`: a fragment never reaches a server's
 * logs), where the server requires one. It fixes the room and the name, so those fields follow it.
 */
const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? undefined;

let session: CallSession | undefined;
let localMedia: MediaStream | undefined;
let selfTile: Tile | undefined;
const tiles = new Map<string, Tile>();

function tile(peerId: string, name?: string, self = false): Tile {
  let t = tiles.get(peerId);
  if (!t) {
    t = new Tile(peerId, name ?? '', self, (pinned) => gallery.togglePin(pinned));
    tiles.set(peerId, t);
    gallery.add(t);
  } else if (name !== undefined) {
    t.rename(name);
  }
  return t;
}

function removeTile(peerId: string): void {
  const t = tiles.get(peerId);
  if (!t) return;
  t.dispose();
  gallery.remove(t);
  tiles.delete(peerId);
}

/** The consent control says what the server does with this participant's video now. */
function showAnalysis(analysed: boolean, granted: boolean): void {
  setPressed(analysisButton, analysed);
  analysisButton.textContent = analysed ? 'Analyse me: on' : 'Analyse me: off';
  analysisButton.disabled = !granted;
  analysisNote.textContent = !granted
    ? 'Your invitation does not allow analysing your video.'
    : analysed
      ? 'Your facial expressions are being analysed; press to stop.'
      : 'Your video is not analysed; press to allow it.';
}

const view: CallView = {
  addPeer: (peerId, name, analysed) => tile(peerId, name).setAnalysed(analysed),
  setAnalysed: (peerId, analysed) => {
    tiles.get(peerId)?.setAnalysed(analysed);
    if (session && peerId === session.peerId) showAnalysis(analysed, session.analysisGranted);
  },
  removePeer: removeTile,
  setPeerTrack: (peerId, track) => tile(peerId).addTrack(track),
  removePeerTrack: (peerId, track) => tiles.get(peerId)?.removeTrack(track),
  setStatus: (text) => (status.textContent = text),
  affect: (event) => tiles.get(event.peerId)?.affect(event),
  ended: (reason) => {
    resetView();
    if (reason === 'replaced') {
      // Rejoining would take the call back from the other tab, which would then do the same.
      status.textContent = 'You joined this call from another tab or device; this page left it.';
      return;
    }
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
  selfTile = undefined;
  delete document.body.dataset.joinedAs;
  document.body.classList.remove('in-call');
  for (const peerId of [...tiles.keys()]) removeTile(peerId);
  setPressed(muteButton, false);
  setPressed(cameraButton, false);
  form.append(devicesMenu);
  devicesMenu.open = true;
  form.hidden = false;
  controls.hidden = true;
}

function setPressed(button: HTMLButtonElement, pressed: boolean): void {
  button.setAttribute('aria-pressed', String(pressed));
}

async function cameraAndMicrophone(): Promise<MediaStream> {
  const video = devices.constraints('video');
  try {
    return await navigator.mediaDevices.getUserMedia({ video, audio: devices.constraints('audio') });
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
      await devices.refresh();
      localMedia.getTracks().forEach((track) => devices.showInUse(track));
      // The call fills the screen from now on: the self view is laid out at its final size at once.
      document.body.classList.add('in-call');
      // Named by the server only once joined; shown (and mirrored) from the start.
      selfTile = tile('self', name, true);
      selfTile.video.srcObject = new MediaStream(localMedia.getVideoTracks());
      session = await CallSession.join(roomId, name, localMedia, view, token);
      tiles.delete('self');
      selfTile.setPeerId(session.peerId);
      selfTile.rename(session.displayName);
      selfTile.setAnalysed(session.analysed);
      tiles.set(session.peerId, selfTile);
      showAnalysis(session.analysed, session.analysisGranted);
      devicesMenu.open = false;
      controls.insertBefore(devicesMenu, $('leave'));
      controls.hidden = false;
      document.body.dataset.joinedAs = session.peerId;
    } catch (error) {
      resetView();
      status.textContent = `Could not join: ${(error as Error).message}`;
    }
  })();
});

/** Switches the call to the device now chosen for `kind`. */
async function switchDevice(kind: 'video' | 'audio'): Promise<void> {
  if (!session || !localMedia) return; // not in a call: the choice applies at the next join
  const old = kind === 'video' ? localMedia.getVideoTracks()[0] : localMedia.getAudioTracks()[0];
  try {
    const media = await navigator.mediaDevices.getUserMedia({ [kind]: devices.constraints(kind) });
    const track = media.getTracks()[0]!;
    await session.replaceTrack(track);
    if (old) {
      localMedia.removeTrack(old);
      old.stop();
    }
    localMedia.addTrack(track);
    if (kind === 'video' && selfTile) selfTile.video.srcObject = new MediaStream([track]);
  } catch (error) {
    status.textContent = `Could not switch ${kind === 'video' ? 'camera' : 'microphone'}: ${(error as Error).message}`;
  }
}
devices.camera.addEventListener('change', () => void switchDevice('video'));
devices.microphone.addEventListener('change', () => void switchDevice('audio'));

for (const [button, kind] of [
  [muteButton, 'audio'],
  [cameraButton, 'video'],
] as const) {
  button.addEventListener('click', () => {
    if (!session) return;
    const off = button.getAttribute('aria-pressed') !== 'true';
    setPressed(button, off);
    session.setPaused(kind, off).catch((error: Error) => (status.textContent = error.message));
  });
}

analysisButton.addEventListener('click', () => {
  if (!session) return;
  const current = session;
  analysisButton.disabled = true;
  current.setAnalysis(analysisButton.getAttribute('aria-pressed') !== 'true').then(
    (analysed) => {
      selfTile?.setAnalysed(analysed);
      showAnalysis(analysed, current.analysisGranted);
    },
    (error: Error) => {
      status.textContent = `Could not change the analysis: ${error.message}`;
      showAnalysis(current.analysed, current.analysisGranted);
    },
  );
});

$<HTMLButtonElement>('open-dashboard').addEventListener('click', () => {
  if (!session) return;
  const roomId = $<HTMLInputElement>('room').value.trim();
  // Opened now, filled in when the token arrives: a window opened after an await is a blocked popup.
  const dashboard = window.open('', '_blank');
  session.affectToken().then(
    ({ token }) => {
      const url = `dashboard.html#${new URLSearchParams({ room: roomId, token })}`;
      if (dashboard) {
        dashboard.location.href = url;
        return;
      }
      // Popups blocked: offer the link instead of leaving the call.
      const link = Object.assign(document.createElement('a'), { href: url, target: '_blank', textContent: 'Open the dashboard' });
      status.replaceChildren(link);
    },
    (error: Error) => {
      dashboard?.close();
      status.textContent = `No dashboard token: ${error.message}`;
    },
  );
});

$<HTMLButtonElement>('leave').addEventListener('click', () => {
  session?.leave();
  resetView();
  status.textContent = 'Left the call';
  $<HTMLButtonElement>('join').focus();
});

$<HTMLInputElement>('name').value ||= `Guest ${Math.floor(Math.random() * 1000)}`;
if (token !== undefined) {
  const room = unverifiedTokenRoom(token);
  if (room !== undefined) Object.assign($<HTMLInputElement>('room'), { value: room, readOnly: true });
  // The server shows the name in the token; asking for another would mislead.
  $<HTMLInputElement>('name').closest('label')!.hidden = true;
}
void devices.refresh();
