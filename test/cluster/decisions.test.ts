import { describe, expect, it } from 'vitest';
import { GapFinder } from '../../server/src/cluster/affectHistory.ts';
import { decidePlacement, type NodeInfo } from '../../server/src/cluster/placement.ts';
import { reconnectDelayMs } from '../../server/src/cluster/redisLink.ts';
import { syntheticAffectEvent } from '../helpers/affectEvent.ts';

const node = (id: string, load: number, draining = false): NodeInfo => ({
  id,
  url: `http://${id}:3000`,
  rooms: 0,
  peers: 0,
  load,
  draining,
  startedAt: 0,
});

describe('placement', () => {
  it('keeps a room on its live owner, takes one without a live owner, sends it on while draining', () => {
    expect(decidePlacement('b', false, 'a', node('a', 0.5), [])).toEqual({ here: false, url: 'http://a:3000' });
    expect(decidePlacement('b', false, 'b', node('b', 0.5), [])).toEqual({ here: true });
    // No owner, or a dead one (no heartbeat), or a draining one: here.
    expect(decidePlacement('b', false, undefined, undefined, [])).toEqual({ here: true });
    expect(decidePlacement('b', false, 'a', undefined, [])).toEqual({ here: true });
    expect(decidePlacement('b', false, 'a', node('a', 0, true), [])).toEqual({ here: true });
    // Draining: to the least-loaded node that is not, never itself.
    const others = [node('b', 0, true), node('c', 0.6), node('d', 0.2), node('e', 0, true)];
    expect(decidePlacement('b', true, undefined, undefined, others)).toEqual({ here: false, url: 'http://d:3000' });
    expect(decidePlacement('b', true, undefined, undefined, [node('b', 0, true)])).toMatchObject({ here: false, refused: expect.any(String) });
  });
});

describe('history gaps', () => {
  it('reports a jump in a stream, not the first event of a range, nor a repeat', () => {
    const gaps = new GapFinder();
    const at = (seq: number, producerId = 's') => gaps.check(syntheticAffectEvent('r', seq, { producerId }));
    expect(at(7)).toBeUndefined();
    expect(at(8)).toBeUndefined();
    expect(at(11)).toEqual({ type: 'gap', roomId: 'r', peerId: 'p', producerId: 's', fromSeq: 9, toSeq: 11 });
    expect(at(0, 'other')).toBeUndefined();
    expect(at(11)).toBeUndefined();
    expect(at(12)).toBeUndefined();
  });
});

describe('redis reconnection', () => {
  it('backs off from 100 ms, doubling, to at most 2 s, for ever', () => {
    expect([0, 1, 2, 3, 4, 5, 100].map(reconnectDelayMs)).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
  });
});
