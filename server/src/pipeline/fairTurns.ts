/** Ends a turn, or withdraws a request still waiting for one; calling it again does nothing. */
export type EndTurn = () => void;

/**
 * Turns at a shared resource (the vision workers), `concurrency` at a time, granted in the order they were asked
 * for. Each stream asks for one turn at a time and asks again only after its turn ends, so first come first served
 * is round-robin across streams: under overload every stream gets an equal share, none starves, and a stream waits
 * at most one round for its next frame to be analysed.
 */
export interface FairTurns {
  /**
   * Calls `start` when this request's turn comes (maybe at once, before `request` returns), with the function that
   * ends the turn; the returned function is the same one, which until then withdraws the request.
   */
  request(start: (end: EndTurn) => void): EndTurn;
  /** Turns being taken now. */
  readonly running: number;
  /** Requests waiting for a turn: streams with a frame ready that the vision workers have not caught up with. */
  readonly waiting: number;
  readonly concurrency: number;
}

export function createFairTurns(concurrency: number): FairTurns {
  if (!(concurrency >= 1)) throw new RangeError(`concurrency must be at least 1 (got ${concurrency})`);
  interface Request {
    start: (end: EndTurn) => void;
    end: EndTurn;
    state: 'waiting' | 'running' | 'ended';
  }
  // A Set keeps insertion order and withdraws a request in O(1): the queue of waiting requests.
  const queue = new Set<Request>();
  let running = 0;

  const grant = () => {
    while (running < concurrency && queue.size > 0) {
      const next = queue.values().next().value!;
      queue.delete(next);
      next.state = 'running';
      running += 1;
      next.start(next.end);
    }
  };

  return {
    request(start) {
      const request: Request = {
        start,
        state: 'waiting',
        end: () => {
          const was = request.state;
          request.state = 'ended';
          if (was === 'waiting') queue.delete(request);
          else if (was === 'running') {
            running -= 1;
            grant();
          }
        },
      };
      queue.add(request);
      grant();
      return request.end;
    },
    get running() {
      return running;
    },
    get waiting() {
      return queue.size;
    },
    concurrency,
  };
}
