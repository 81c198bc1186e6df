/** The labelled image sets as records in the shape faces.jsonl keeps them (fpnmaa/prepare.py reads that shape). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LabelledImage {
  source: string;
  file: string;
  path: string;
  /** The in-the-wild set's expression word; '' elsewhere. */
  label: string;
  contributor: string;
  /** FER+: the 10 annotator votes in labels.csv's column order, and FER's split. */
  votes?: number[];
  split?: string;
}

const lines = (path: string) => readFileSync(path, 'utf8').replace(/\r/g, '').trim().split('\n');

/** DATA/expressions/labels.csv (image, expression, contributor), in file order. */
export function expressionImages(dataDir: string): LabelledImage[] {
  return lines(join(dataDir, 'expressions/labels.csv'))
    .slice(1)
    .map((line) => {
      const [file, label, contributor] = line.split(',');
      return { source: 'expressions', file: file!, path: join(dataDir, 'expressions/images', file!), label: label!, contributor: contributor ?? '' };
    });
}

/** FER+ labels.csv (file, split, 10 vote columns), in file order; only `split` when given. */
export function ferplusImages(ferplusDir: string, split?: string): LabelledImage[] {
  const rows = lines(join(ferplusDir, 'labels.csv'));
  const header = rows[0]!.split(',');
  if (header[0] !== 'file' || header[1] !== 'split' || header.length !== 12) throw new Error(`unexpected FER+ header: ${rows[0]}`);
  return rows
    .slice(1)
    .map((row) => row.split(','))
    .filter(([, s]) => split === undefined || s === split)
    .map(([file, s, ...votes]) => ({ source: 'ferplus', file: file!, path: join(ferplusDir, file!), label: '', contributor: '', votes: votes.map(Number), split: s }));
}
