import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { descendants } from './cpu.ts';

/**
 * What a process holds, from /proc (Linux): resident memory, open file descriptors, and its sockets by
 * protocol. The benches run the server in their own process: its mediasoup workers and ffmpeg decoders
 * are its children.
 */
export interface ProcessStats {
  rssMb: number;
  fds: number;
  udp: number;
  tcp: number;
}

export function processStats(pid: number): ProcessStats {
  const inodes = socketInodes(pid);
  return {
    rssMb: rssMb(pid),
    fds: inodes.fds,
    udp: countSockets(inodes.sockets, ['udp', 'udp6']),
    tcp: countSockets(inodes.sockets, ['tcp', 'tcp6']),
  };
}

/** Resident set size in MB; 0 if the process is gone. */
export function rssMb(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** The descendants of `pid` whose command is `name` (e.g. the ffmpeg decoders of the frame tap). */
export function childProcesses(pid: number, name: string): number[] {
  return descendants(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/comm`, 'utf8').trim() === name;
    } catch {
      return false;
    }
  });
}

function socketInodes(pid: number): { fds: number; sockets: Set<string> } {
  const sockets = new Set<string>();
  let fds = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode) sockets.add(inode);
    } catch {
      // closed between listing and reading
    }
  }
  return { fds, sockets };
}

/** How many of `inodes` are sockets of these /proc/net tables (a UNIX socket or a pipe is in none). */
function countSockets(inodes: Set<string>, tables: string[]): number {
  let n = 0;
  for (const table of tables) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode && inodes.has(inode)) n++;
    }
  }
  return n;
}
