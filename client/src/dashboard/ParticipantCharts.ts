import type { Chart as ChartType, ChartDataset } from 'chart.js';
import type { AffectEvent, AffectStreamEvent } from '../../../protocol/affect-event.ts';
import { auName } from '../auNames.ts';
import { Chart, COMMON_OPTIONS, PALETTE, canvasIn, percent, signedTimeSeriesOptions } from './charts.ts';

const VALENCE = '#1d5fbf';
const AROUSAL = '#b04a00';
/** Faces drawn in the valence/arousal chart: the most recent ones; older tracks are in the export. */
const FACES_CHARTED = 3;

/** One participant's section of the dashboard: valence/arousal over time, expression shares, AU activity. */
export class ParticipantCharts {
  readonly element = document.createElement('section');
  readonly #heading = document.createElement('h2');
  readonly #state = document.createElement('p');
  readonly #summary = document.createElement('p');
  readonly #va: ChartType<'line'>;
  readonly #expressions: ChartType<'doughnut'>;
  readonly #aus: ChartType<'bar'>;

  constructor(private readonly peerId: string) {
    this.element.className = 'participant';
    this.element.dataset.peerId = peerId;
    this.#state.className = 'participant-state';
    const charts = document.createElement('div');
    charts.className = 'charts';
    this.element.append(this.#heading, this.#state, this.#summary, charts);
    this.name(undefined);
    this.#va = new Chart(canvasIn(charts, 'Valence and arousal over time'), {
      type: 'line',
      data: { datasets: [] },
      options: { ...signedTimeSeriesOptions('valence / arousal'), plugins: { title: { display: false } } },
    });
    this.#expressions = new Chart(canvasIn(charts, 'Expression shares'), {
      type: 'doughnut',
      data: { labels: [], datasets: [{ data: [], backgroundColor: PALETTE }] },
      options: { ...COMMON_OPTIONS, plugins: { legend: { position: 'right' } } },
    });
    this.#aus = new Chart(canvasIn(charts, 'Action unit activity'), {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        ...COMMON_OPTIONS,
        indexAxis: 'y',
        scales: { x: { min: 0, max: 100, title: { display: true, text: '%' } }, y: { ticks: { autoSkip: false, font: { size: 10 } } } },
      },
    });
  }

  /** Who this is, as the server says (the display name they joined with); undefined while not known. */
  name(participant: { displayName: string; analysed?: boolean; present?: boolean } | undefined): void {
    this.#heading.textContent = participant?.displayName ?? `Participant ${this.peerId}`;
    const id = `peer ${this.peerId}`;
    const state =
      participant?.present === false ? 'left the call' : participant?.analysed === false ? 'not analysed (opted out)' : participant?.analysed ? 'analysed' : '';
    this.#state.textContent = [id, state].filter(Boolean).join(' · ');
  }

  /** Redraws from the participant's kept events. */
  update(events: AffectStreamEvent[]): void {
    const affect = events.filter((e): e is AffectEvent => e.type === 'affect');
    const latest = affect.at(-1);
    if (!latest) return;
    this.#updateValenceArousal(affect);
    const shares = this.#updateExpressions(affect, latest);
    this.#updateAus(affect, latest);
    const top = Object.entries(shares).sort((a, b) => b[1] - a[1])[0];
    this.#summary.textContent =
      `${affect.length} analyses kept · now ${latest.expression.label}, valence ${latest.valence.toFixed(2)}, ` +
      `arousal ${latest.arousal.toFixed(2)} · most often ${top?.[0]} (${percent(top?.[1] ?? 0)}) · model ${latest.model.name} ${latest.model.version}`;
  }

  destroy(): void {
    for (const chart of [this.#va, this.#expressions, this.#aus]) chart.destroy();
    this.element.remove();
  }

  #updateValenceArousal(affect: AffectEvent[]): void {
    const faces = [...new Set(affect.map((e) => e.faceId))].slice(-FACES_CHARTED);
    const datasets: ChartDataset<'line'>[] = faces.flatMap((faceId, i) => {
      const own = affect.filter((e) => e.faceId === faceId);
      const x = (e: AffectEvent) => e.arrivalTime;
      const dash = i === faces.length - 1 ? [] : [4, 3];
      const suffix = faces.length > 1 ? ` (face ${faceId})` : '';
      return [
        { label: `valence${suffix}`, data: own.map((e) => ({ x: x(e), y: e.valence })), borderColor: VALENCE, backgroundColor: VALENCE, borderDash: dash },
        { label: `arousal${suffix}`, data: own.map((e) => ({ x: x(e), y: e.arousal })), borderColor: AROUSAL, backgroundColor: AROUSAL, borderDash: dash },
      ];
    });
    this.#va.data.datasets = datasets;
    this.#va.update('none');
  }

  /** Share of analyses with each label as the expression; returns the shares. */
  #updateExpressions(affect: AffectEvent[], latest: AffectEvent): Record<string, number> {
    const labels = Object.keys(latest.expression.probs);
    const shares = Object.fromEntries(labels.map((l) => [l, 0]));
    for (const e of affect) shares[e.expression.label] = (shares[e.expression.label] ?? 0) + 1 / affect.length;
    this.#expressions.data.labels = labels;
    this.#expressions.data.datasets[0]!.data = labels.map((l) => Math.round(shares[l]! * 1000) / 10);
    this.#expressions.update('none');
    this.#expressions.canvas.setAttribute(
      'aria-label',
      `Expression shares: ${labels.map((l) => `${l} ${percent(shares[l]!)}`).join(', ')}`,
    );
    return shares;
  }

  /** Per AU: how often it was active and its mean probability, in %. */
  #updateAus(affect: AffectEvent[], latest: AffectEvent): void {
    const labels = Object.keys(latest.aus);
    const active = labels.map((l) => (100 * affect.filter((e) => e.aus[l]?.active).length) / affect.length);
    const mean = labels.map((l) => (100 * affect.reduce((sum, e) => sum + (e.aus[l]?.p ?? 0), 0)) / affect.length);
    this.#aus.data.labels = labels.map(auName);
    this.#aus.data.datasets = [
      { label: 'active, % of analyses', data: active, backgroundColor: '#e69f00' },
      { label: 'mean probability, %', data: mean, backgroundColor: '#0072b2' },
    ];
    this.#aus.update('none');
    this.#aus.canvas.setAttribute(
      'aria-label',
      `Action units active: ${labels.map((l, i) => `${auName(l)} ${Math.round(active[i]!)}%`).join(', ')}`,
    );
  }
}
