/** The camera and microphone choosers: filled from the browser's device list, remembered across calls. */
export class DeviceSelects {
  constructor(
    readonly camera: HTMLSelectElement,
    readonly microphone: HTMLSelectElement,
  ) {
    navigator.mediaDevices.addEventListener('devicechange', () => void this.refresh());
  }

  /** Re-reads the device list; names appear only once the page has been given camera access. */
  async refresh(): Promise<void> {
    const devices = await navigator.mediaDevices.enumerateDevices();
    fill(this.camera, devices.filter((d) => d.kind === 'videoinput'), 'Camera');
    fill(this.microphone, devices.filter((d) => d.kind === 'audioinput'), 'Microphone');
  }

  /** Constraints for the chosen device of a kind (any device while none is chosen). */
  constraints(kind: 'video' | 'audio'): MediaTrackConstraints {
    const select = kind === 'video' ? this.camera : this.microphone;
    const base: MediaTrackConstraints =
      kind === 'video' ? { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } } : {};
    return select.value ? { ...base, deviceId: { exact: select.value } } : base;
  }

  /** Shows `track`'s device as the chosen one (the browser may have picked it). */
  showInUse(track: MediaStreamTrack): void {
    const select = track.kind === 'video' ? this.camera : this.microphone;
    const id = track.getSettings().deviceId;
    if (id && [...select.options].some((o) => o.value === id)) select.value = id;
  }
}

function fill(select: HTMLSelectElement, devices: MediaDeviceInfo[], noun: string): void {
  const chosen = select.value;
  select.replaceChildren(
    ...devices.map((d, i) => new Option(d.label || `${noun} ${i + 1}`, d.deviceId)),
  );
  if (devices.length === 0) select.append(new Option(`No ${noun.toLowerCase()} found`, ''));
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  select.disabled = devices.length === 0;
}
