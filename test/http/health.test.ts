import { describe, expect, it } from 'vitest';
import { healthOf } from '../../server/src/health.ts';

describe('healthOf', () => {
  it('is degraded without workers, or with a capacity at 90% of its limit or more', () => {
    expect(healthOf(1, { rooms: { used: 89, limit: 100 }, taps: { used: 0, limit: 64 } })).toEqual({ status: 'ok', pressure: [] });
    expect(healthOf(0, { rooms: { used: 0, limit: 100 } })).toEqual({ status: 'degraded', pressure: [] });
    expect(healthOf(2, { rooms: { used: 90, limit: 100 }, taps: { used: 64, limit: 64 }, subscribers: { used: 1, limit: 200 } })).toEqual({
      status: 'degraded',
      pressure: ['rooms', 'taps'],
    });
    expect(healthOf(1, { rooms: { used: 1, limit: 100 } }, ['analysis'])).toEqual({ status: 'degraded', pressure: ['analysis'] });
    expect(healthOf(1, { rooms: { used: 1, limit: 100 } }, ['analysis', 'decoding'])).toEqual({ status: 'degraded', pressure: ['analysis', 'decoding'] });
  });
});
