import { describe, expect, it } from 'vitest';
import { analysisLayer } from '../../server/src/media/analysisLayer.ts';

describe('analysisLayer', () => {
  it('has nothing to choose for a single encoding', () => {
    expect(analysisLayer(undefined, 2)).toBeUndefined();
    expect(analysisLayer([{ ssrc: 1 }], 2)).toBeUndefined();
  });

  it('picks the smallest layer still at least 1/maxDownscale of the full resolution', () => {
    const call = [{ scaleResolutionDownBy: 2 }, { scaleResolutionDownBy: 1 }];
    expect(analysisLayer(call, 2)).toBe(0);
    expect(analysisLayer(call, 1)).toBe(1);
    const three = [{ scaleResolutionDownBy: 4 }, { scaleResolutionDownBy: 2 }, { scaleResolutionDownBy: 1 }];
    expect(analysisLayer(three, 2)).toBe(1);
    expect(analysisLayer(three, 3)).toBe(1);
    expect(analysisLayer(three, 4)).toBe(0);
  });

  it('takes the largest layer when every layer is smaller than that', () => {
    expect(analysisLayer([{ scaleResolutionDownBy: 8 }, { scaleResolutionDownBy: 4 }], 2)).toBe(1);
  });

  it('assumes each layer half the one above it where none is stated, or where what is stated is unusable', () => {
    expect(analysisLayer([{}, {}, {}], 2)).toBe(1);
    expect(analysisLayer([{ scaleResolutionDownBy: 'x' }, { scaleResolutionDownBy: Number.NaN }, { scaleResolutionDownBy: -3 }], 2)).toBe(1);
    expect(analysisLayer([{ scaleResolutionDownBy: 0.1 }, {}], 2)).toBe(0);
  });
});
