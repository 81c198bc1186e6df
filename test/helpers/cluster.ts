import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { NodeInfo } from '../../server/src/cluster/placement.ts';
import type { NodeReply, NodeRequest } from './clusterNode.ts';

const NODE_SCRIPT = fileURLToPath(new URL('./clusterNode.ts', import.meta.url));
/** Shared by every node of a test cluster, so a token minted for one is good on all. */
export const CLUSTER_TOKEN_SECRET = 'cluster-test-secret-0123456789abcdef';

/** A server node in its own process (./clusterNode.ts), on a free loopback port. */
export interface TestNode {
  url: string;
  process: ChildProcess;
  /** A participant in `roomId` sending the face video (replayed RTP) on this node. */
  replay(roomId: string, ssrc: number): Promise<{ producerId: string; peerId: string }>;
  stopReplay(producerId: string): Promise<void>;
  /** SIGKILL to its whole process group: the node dies without a word (a crash, a lost machine). */
  kill(): Promise<void>;
  /** SIGTERM, and its exit code. */
  stop(): Promise<number | null>;
  /** Its GET /healthz. */
  health(): Promise<Health>;
}

/** What the tests read of /healthz. */
export interface Health {
  rooms: number;
  peers: number;
  cluster: { node: string; redis: 'up' | 'down'; nodes: NodeInfo[] };
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export async function startNode(env: Record<string, string>): Promise<TestNode> {
  const child = fork(NODE_SCRIPT, [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      MEDIASOUP_LISTEN_IP: '127.0.0.1',
      MEDIASOUP_WORKERS: '1',
      VISION_WORKERS: '1',
      LOG_LEVEL: 'warn',
      TOKEN_SECRET: CLUSTER_TOKEN_SECRET,
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Its own process group: kill() takes its mediasoup workers, decoders and replay senders with it.
    detached: true,
  });
  const pending = new Map<number, (reply: NodeReply) => void>();
  let nextId = 0;
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`node exited with ${code} before it was ready`)));
    child.on('message', (reply: NodeReply) => {
      if (reply.type === 'ready') resolve(reply.url);
      else pending.get(reply.id)?.(reply);
    });
  });
  const request = (body: WithoutId<NodeRequest>) =>
    new Promise<NodeReply>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (reply) => {
        pending.delete(id);
        if (reply.type === 'failed') reject(new Error(reply.message));
        else resolve(reply);
      });
      child.send({ ...body, id } as NodeRequest);
    });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    url,
    process: child,
    async replay(roomId, ssrc) {
      const reply = await request({ type: 'replay', roomId, ssrc });
      if (reply.type !== 'replayed') throw new Error(`unexpected reply ${reply.type}`);
      return { producerId: reply.producerId, peerId: reply.peerId };
    },
    async stopReplay(producerId) {
      await request({ type: 'stopReplay', producerId });
    },
    async kill() {
      if (exited()) return;
      const exit = once(child, 'exit');
      process.kill(-child.pid!, 'SIGKILL');
      await exit;
    },
    async health() {
      return (await (await fetch(`${url}/healthz`)).json()) as Health;
    },
    async stop() {
      if (exited()) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
