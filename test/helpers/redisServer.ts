import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

/** A port free on 127.0.0.1 now (the kernel's pick; free again when the caller binds it moments later). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TestRedis {
  url: string;
  port: number;
  /** The running server's process id (undefined while stopped), e.g. to measure its CPU. */
  readonly pid: number | undefined;
  /** Stops it (SIGKILL: as if the machine died); start() brings it back on the same port, empty. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

/**
 * Debian's redis-server on a free loopback port, nothing persisted; never one assumed running. Resolves
 * once it accepts connections.
 */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const process = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child = process;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      process.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
      process.once('error', reject);
      process.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      });
    });
    // Ready: its further output is not kept.
    process.stdout!.removeAllListeners('data');
    process.stdout!.resume();
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async kill() {
      const process = child;
      if (!process || process.exitCode !== null) return;
      process.kill('SIGKILL');
      await once(process, 'exit');
    },
    start,
  };
}
