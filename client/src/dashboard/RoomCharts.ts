import type { Chart as ChartType, ChartDataset } from 'chart.js';
import type { AffectEvent, AffectStreamEvent } from '../../../protocol/affect-event.ts';
import { Chart, COMMON_OPTIONS, PALETTE, canvasIn, clockTime, percent, signedTimeSeriesOptions } from './charts.ts';

/** One participant as the room view draws them. */
export interface RoomMember {
  peerId: string;
  displayName: string;
  events: AffectStreamEvent[];
}

const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;

/**
 * The whole room side by side over the same wall-clock axis: valence and arousal with a line per person,
 * each person's expression shares as one stacked bar, and a summary of the room in words.
 */
export class RoomCharts {
  readonly element = document.createElement('section');
  readonly #summary = document.createElement('p');
  readonly #valence: ChartType<'line'>;
  readonly #arousal: ChartType<'line'>;
  readonly #expressions: ChartType<'bar'>;

  constructor() {
    this.element.className = 'room-view';
    const heading = document.createElement('h2');
    heading.textContent = 'The room';
    this.#summary.className = 'room-summary';
    const charts = document.createElement('div');
    charts.className = 'charts';
    this.element.append(heading, this.#summary, charts);
    const line = (title: string, axis: string) =>
      new Chart(canvasIn(charts, title), {
        type: 'line',
        data: { datasets: [] },
        options: signedTimeSeriesOptions(axis),
      });
    this.#valence = line('Valence of each participant over time', 'valence');
    this.#arousal = line('Arousal of each participant over time', 'arousal');
    this.#expressions = new Chart(canvasIn(charts, 'Expression shares of each participant'), {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        ...COMMON_OPTIONS,
        indexAxis: 'y',
        scales: { x: { stacked: true, min: 0, max: 100, title: { display: true, text: '% of analyses' } }, y: { stacked: true } },
      },
    });
  }

  update(members: RoomMember[]): void {
    const people = members
      .map((m) => ({ ...m, affect: m.events.filter((e): e is AffectEvent => e.type === 'affect') }))
      .filter((m) => m.affect.length > 0);
    const colour = (i: number) => PALETTE[i % PALETTE.length]!;
    const lines = (value: (e: AffectEvent) => number): ChartDataset<'line'>[] =>
      people.map((m, i) => ({
        label: m.displayName,
        data: m.affect.map((e) => ({ x: e.arrivalTime, y: value(e) })),
        borderColor: colour(i),
        backgroundColor: colour(i),
      }));
    this.#valence.data.datasets = lines((e) => e.valence);
    this.#arousal.data.datasets = lines((e) => e.arousal);
    this.#valence.update('none');
    this.#arousal.update('none');

    const labels = [...new Set(people.flatMap((m) => Object.keys(m.affect.at(-1)!.expression.probs)))];
    const shares = people.map((m) => {
      const counts = new Map<string, number>();
      for (const e of m.affect) counts.set(e.expression.label, (counts.get(e.expression.label) ?? 0) + 1);
      return new Map(labels.map((l) => [l, (counts.get(l) ?? 0) / m.affect.length]));
    });
    this.#expressions.data.labels = people.map((m) => m.displayName);
    this.#expressions.data.datasets = labels.map((label, i) => ({
      label,
      data: shares.map((s) => Math.round(s.get(label)! * 1000) / 10),
      backgroundColor: colour(i),
    }));
    this.#expressions.update('none');
    this.#expressions.canvas.setAttribute(
      'aria-label',
      `Expression shares: ${people
        .map((m, i) => {
          const top = [...shares[i]!].sort((a, b) => b[1] - a[1])[0]!;
          return `${m.displayName} mostly ${top[0]} (${percent(top[1])})`;
        })
        .join('; ')}`,
    );
    this.#summary.textContent = summaryOf(people, labels);
  }

  destroy(): void {
    for (const chart of [this.#valence, this.#arousal, this.#expressions]) chart.destroy();
    this.element.remove();
  }
}

/** The room in one paragraph: who, over what time, how positive and aroused on average, the most common expression. */
function summaryOf(people: { displayName: string; affect: AffectEvent[] }[], labels: string[]): string {
  if (people.length === 0) return 'No analyses yet.';
  const all = people.flatMap((m) => m.affect);
  const first = all.reduce((t, e) => Math.min(t, e.arrivalTime), Number.POSITIVE_INFINITY);
  const last = all.reduce((t, e) => Math.max(t, e.arrivalTime), 0);
  const counts = new Map(labels.map((l) => [l, 0]));
  for (const e of all) counts.set(e.expression.label, (counts.get(e.expression.label) ?? 0) + 1);
  const [topLabel, topCount] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  const byValence = people.map((m) => ({ name: m.displayName, valence: mean(m.affect.map((e) => e.valence)) })).sort((a, b) => b.valence - a.valence);
  return (
    `${people.length} ${people.length === 1 ? 'participant' : 'participants'} analysed, ` +
    `${clockTime(first)}–${clockTime(last)} · ` +
    `room mean valence ${mean(all.map((e) => e.valence)).toFixed(2)}, arousal ${mean(all.map((e) => e.arousal)).toFixed(2)} · ` +
    `most common expression ${topLabel} (${percent(topCount / all.length)}) · ` +
    `most positive ${byValence[0]!.name} (${byValence[0]!.valence.toFixed(2)})` +
    (people.length > 1 ? `, least ${byValence.at(-1)!.name} (${byValence.at(-1)!.valence.toFixed(2)})` : '')
  );
}
