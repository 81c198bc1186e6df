import type { AffectEvent } from '../../../protocol/affect-event.ts';

export interface Cue {
  /** Seconds from the start of the recording. */
  start: number;
  end: number;
  text: string;
}

/**
 * What the subtitles say about the faces in view: one line per face, led by the person's display name (if any)
 * and the face's id (as in the events and exports), e.g. "Ada · face 3: happy 81% · valence 0.42 · …".
 */
export function cueText(faces: AffectEvent[], displayName: string): string {
  const lead = displayName ? `${displayName} · ` : '';
  return faces
    .map((e) => {
      const p = e.expression.probs[e.expression.label] ?? 0;
      const active = Object.entries(e.aus)
        .filter(([, au]) => au.active)
        .map(([label]) => label);
      return (
        `${lead}face ${e.faceId}: ${e.expression.label} ${Math.round(p * 100)}% · valence ${e.valence.toFixed(2)} · arousal ${e.arousal.toFixed(2)}` +
        (active.length > 0 ? ` · ${active.join(' ')}` : '')
      );
    })
    .join('\n');
}

/** A cue time, seconds -> hh:mm:ss.mmm. */
function vttTimestamp(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** One numbered cue block, its blank separator line included. */
export function vttCue(number: number, cue: Cue): string {
  return `${number}\n${vttTimestamp(cue.start)} --> ${vttTimestamp(cue.end)}\n${cue.text}\n`;
}

export function toWebVtt(cues: Cue[]): string {
  const body = cues
    .filter((c) => c.end > c.start && c.text !== '')
    .map((c, i) => vttCue(i + 1, c));
  return ['WEBVTT\n', ...body].join('\n');
}
