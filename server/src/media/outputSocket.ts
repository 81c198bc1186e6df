import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Bytes per read: what a Unix socket usually has ready at once. */
const READ_SIZE = 64 * 1024;

let socketDir: string | undefined;
let socketCount = 0;

/** A directory only this process's user can enter: nobody else can connect to a socket in it and read the frames. */
function privateSocketDir(): string {
  if (!socketDir) {
    socketDir = mkdtempSync(path.join(os.tmpdir(), 'affect-call-'));
    const dir = socketDir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return socketDir;
}

export interface OutputSocket {
  /** The end to give a child process as its stdout (`spawn`'s stdio); destroy it here once the child has it. */
  childEnd: net.Socket;
  /** The end read here: 'end' and 'close' as for any socket; data goes to `onData` only. */
  reader: net.Socket;
}

/**
 * A connected pair of Unix sockets, one end for a child's stdout, the other read into one reused buffer. A child's
 * stdout pipe (`stdio: 'pipe'`) gets a fresh 64 KB buffer from Node for every read; at video rates (a decoder
 * writes megabytes a second) those buffers count towards V8's next full collection, and drove one every few
 * tenths of a second at 16 streams. `onData` gets a view of the reused buffer: valid only during the call.
 */
export async function openOutputSocket(onData: (bytes: Uint8Array) => void): Promise<OutputSocket> {
  const socketPath = path.join(privateSocketDir(), `out-${socketCount++}.sock`);
  const server = net.createServer({ pauseOnConnect: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const reader = net.connect({
      path: socketPath,
      onread: {
        buffer: Buffer.allocUnsafe(READ_SIZE),
        callback: (n, buffer) => {
          onData(buffer.subarray(0, n));
          return true;
        },
      },
    });
    const childEnd = await Promise.race([accepted, new Promise<never>((_, reject) => reader.once('error', reject))]);
    return { childEnd, reader };
  } finally {
    // Closing the server removes the socket's file; the connection it accepted lives on.
    server.close();
  }
}
