/**
 * One server node in its own process, for the cluster tests: the service as main.ts starts it, plus a way
 * for the test to put a participant in a room whose camera is the face video replayed as RTP (that needs
 * the node's own rooms, hence an IPC message rather than a socket.io request). Started by ./cluster.ts.
 */
import { faceVideoVp8, replayIntoRoom, type ReplayedStream } from '../../bench/lib/rtpReplay.ts';
import { startApp } from '../../server/src/app.ts';
import { loadConfig } from '../../server/src/config.ts';

export type NodeRequest = { type: 'replay'; id: number; roomId: string; ssrc: number } | { type: 'stopReplay'; id: number; producerId: string };
export type NodeReply =
  | { type: 'ready'; url: string }
  | { type: 'replayed'; id: number; producerId: string; peerId: string }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; message: string };

const send = (reply: NodeReply) => process.send!(reply);
const app = await startApp(loadConfig(process.env));
const replays = new Map<string, ReplayedStream>();

process.on('message', (request: NodeRequest) => {
  const run = async (): Promise<NodeReply> => {
    if (request.type === 'replay') {
      const replay = await replayIntoRoom(app, request.roomId, await faceVideoVp8(), request.ssrc);
      replays.set(replay.producerId, replay);
      const peer = [...app.rooms.get(request.roomId)!.peers.values()].find((p) => p.producers.has(replay.producerId))!;
      return { type: 'replayed', id: request.id, producerId: replay.producerId, peerId: peer.id };
    }
    replays.get(request.producerId)?.stop();
    replays.delete(request.producerId);
    return { type: 'done', id: request.id };
  };
  run().then(send, (error: Error) => send({ type: 'failed', id: request.id, message: error.message }));
});

let stopping = false;
/** As main.ts: SIGTERM drains first (rooms handed over), a lost parent just closes. */
const stop = (drain: boolean) => {
  if (stopping) return;
  stopping = true;
  for (const replay of replays.values()) replay.stop();
  (drain ? app.drain() : Promise.resolve()).then(() => app.close()).then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', () => stop(true));
// The test process went away: so does this node (no orphaned servers, decoders or replays).
process.on('disconnect', () => stop(false));
send({ type: 'ready', url: app.url });
