import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); 0 if it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU used by groups of processes between two points in time, as % of one core. */
export function cpuMeter(groups: Record<string, () => number[]>) {
  const read = () => Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, pids().reduce((s, p) => s + cpuSeconds(p), 0)]));
  const start = read();
  const t0 = Date.now();
  return () => {
    const end = read();
    const seconds = (Date.now() - t0) / 1000;
    return Object.fromEntries(Object.keys(groups).map((name) => [name, (100 * (end[name]! - start[name]!)) / seconds]));
  };
}
