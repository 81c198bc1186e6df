import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

/** Chart.js with the parts the dashboard draws with registered (a bundle carries only those). */
export { Chart };

/** Distinguishable for common colour-vision deficiencies (Okabe-Ito), then greys. */
export const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#000000', '#999999', '#666666'];

export const COMMON_OPTIONS = { animation: false, responsive: true, maintainAspectRatio: false } as const;

export const percent = (n: number) => `${Math.round(n * 100)}%`;

/** A canvas for one chart, in a figure appended to `parent`; `title` is its text alternative until data describes it. */
export function canvasIn(parent: HTMLElement, title: string): HTMLCanvasElement {
  const figure = document.createElement('figure');
  figure.className = 'chart';
  figure.style.margin = '0';
  const canvas = document.createElement('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', title);
  figure.append(canvas);
  parent.append(figure);
  return canvas;
}

/** The local wall-clock time of a time in ms since the epoch, to the second: 14:03:27. */
export const clockTime = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/**
 * An x axis of wall-clock time: values are ms since the epoch (the events' arrivalTime, the server's clock
 * when the frame arrived), ticks read as local times of day.
 */
const wallClockAxis = {
  type: 'linear',
  title: { display: true, text: 'time (arrival at the server)' },
  ticks: {
    // Tenths of a second where ticks fall between seconds (a call a few seconds long), so no two read the same.
    callback: (value: string | number) => {
      const ms = Number(value);
      return ms % 1000 === 0 ? clockTime(ms) : `${clockTime(ms)}.${Math.floor((ms % 1000) / 100)}`;
    },
    maxTicksLimit: 6,
    maxRotation: 0,
  },
} as const;

/** Options of a line chart of values in [-1, 1] (valence, arousal) over wall-clock time, points as {x, y}. */
export const signedTimeSeriesOptions = (yTitle: string) =>
  ({
    ...COMMON_OPTIONS,
    parsing: false,
    normalized: true,
    elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
    scales: { x: wallClockAxis, y: { min: -1, max: 1, title: { display: true, text: yTitle } } },
  }) as const;
