import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { cueText, vttCue } from '../../../client/src/recording/webvtt.ts';
import type { AffectEvent, AffectStreamEvent } from '../../../protocol/affect-event.ts';
import type { AffectModelInfo } from '../vision/affectContract.ts';
import { OUTCOMES } from './AnalyseError.ts';
import { csvHeader, csvRow } from './affectCsv.ts';
import type { AnalyseSummary, OfflineFrame, OfflineSink } from './analyseVideo.ts';

export type OutputFormat = 'jsonl' | 'csv' | 'vtt';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['jsonl', 'csv', 'vtt'];

/** Suffix of an output that does not cover the whole input (cut-off input, interrupted, failed). */
export const PARTIAL_SUFFIX = '.partial';
const FLUSH_BYTES = 256 * 1024;

/** Text appended to a file with a small buffer; it lives as `<path>.partial` until `close(true)` names it `<path>`. */
class OutputFile {
  #fd: number;
  #buffer = '';
  constructor(readonly path: string) {
    this.#fd = openSync(`${path}${PARTIAL_SUFFIX}`, 'w');
    // A whole file of an earlier run would pass for this run's result.
    rmSync(path, { force: true });
  }
  write(text: string): void {
    this.#buffer += text;
    if (this.#buffer.length >= FLUSH_BYTES) this.flush();
  }
  flush(): void {
    if (this.#buffer) writeSync(this.#fd, this.#buffer);
    this.#buffer = '';
  }
  /** The file's final name: the path when whole, else the `.partial` one. */
  close(whole: boolean): string {
    this.flush();
    closeSync(this.#fd);
    if (!whole) return `${this.path}${PARTIAL_SUFFIX}`;
    renameSync(`${this.path}${PARTIAL_SUFFIX}`, this.path);
    return this.path;
  }
}

const isAffect = (e: AffectStreamEvent): e is AffectEvent => e.type === 'affect';

/**
 * The output files of one input, `<stem>.jsonl|csv|vtt` for the formats asked for: JSON Lines of the events (the
 * `/affect` schema plus `sourceTime`), the wide CSV (affectCsv.ts), WebVTT cues (one per analysed frame with faces,
 * until the next frame). Files appear with the first frame; an input that could not be analysed at all writes none.
 * An analysis that did not cover its input leaves `<name>.partial` files (the VTT ends with a NOTE saying why).
 * `written` lists the files once closed.
 */
export function outputFiles(stem: string, formats: readonly OutputFormat[], labels: Pick<AffectModelInfo, 'expressionLabels' | 'auLabels'>, cueName = '') {
  const written: string[] = [];
  let files: Partial<Record<OutputFormat, OutputFile>> | undefined;
  let cue: { start: number; text: string } | undefined;
  let cues = 0;
  let previous: number | undefined;
  let lastInterval = 40;

  const open = () => {
    files = Object.fromEntries(formats.map((f) => [f, new OutputFile(`${stem}.${f}`)]));
    files.csv?.write(`${csvHeader(labels)}\n`);
    files.vtt?.write('WEBVTT\n');
  };
  const endCue = (end: number) => {
    if (cue && end > cue.start) files?.vtt?.write(`\n${vttCue(++cues, { start: cue.start / 1000, end: end / 1000, text: cue.text })}`);
    cue = undefined;
  };
  const writeEvents = (events: AffectStreamEvent[]) => {
    for (const event of events) files?.jsonl?.write(`${JSON.stringify(event)}\n`);
  };

  const sink: OfflineSink = {
    frame(frame: OfflineFrame) {
      if (!files) open();
      writeEvents(frame.events);
      const faces = frame.events.filter(isAffect);
      for (const face of faces) files!.csv?.write(`${csvRow(labels, frame.index, face)}\n`);
      if (previous !== undefined) lastInterval = frame.sourceTimeMs - previous;
      previous = frame.sourceTimeMs;
      endCue(frame.sourceTimeMs);
      if (faces.length) cue = { start: frame.sourceTimeMs, text: cueText(faces, cueName) };
    },
    async close(last: AffectStreamEvent[], summary: AnalyseSummary) {
      const outcome = summary.outcome;
      if (!files && (outcome === 'unreadable' || outcome === 'no-video')) return;
      if (!files) open();
      writeEvents(last);
      if (cue) endCue(cue.start + lastInterval);
      const whole = outcome === 'complete' || outcome === 'no-faces';
      if (!whole) files!.vtt?.write(`\nNOTE partial: ${outcome} (exit code ${OUTCOMES[outcome].exitCode}): ${summary.message.replaceAll('-->', '->')}\n`);
      for (const file of Object.values(files!)) written.push(file.close(whole));
    },
  };
  return { sink, written };
}
