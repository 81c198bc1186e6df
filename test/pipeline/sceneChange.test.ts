import { describe, expect, it } from 'vitest';
import { CELL_CHANGE, changedOutside, sceneSignature } from '../../server/src/pipeline/sceneChange.ts';
import type { Box, RgbImage } from '../../server/src/vision/types.ts';
import { random } from './faceFixtures.ts';
import { paintBlock, texturedImage } from '../helpers/scenes.ts';

describe('sceneChange', () => {
  const base = texturedImage(640, 480);

  it('sees no change in the same picture with compression-like noise on every pixel', () => {
    const noise = random(7);
    const noisy: RgbImage = { ...base, pixels: base.pixels.map((v) => Math.max(0, Math.min(255, v + Math.round((noise() - 0.5) * 12)))) };
    expect(changedOutside(sceneSignature(base), sceneSignature(noisy), [])).toBe(false);
  });

  it('sees a face-sized bright block come in, but not where the known faces are', () => {
    const walkedIn = paintBlock(base, { x: 450, y: 150, width: 100, height: 120 }, 240);
    expect(changedOutside(sceneSignature(base), sceneSignature(walkedIn), [])).toBe(true);
    const known: Box[] = [{ x: 400, y: 100, width: 200, height: 220 }];
    expect(changedOutside(sceneSignature(base), sceneSignature(walkedIn), known)).toBe(false);
  });

  it('takes a single flickering cell for noise, and a cut (every cell) or a new frame size for change', () => {
    const flicker = paintBlock(base, { x: 0, y: 0, width: 40, height: 40 }, 255);
    expect(changedOutside(sceneSignature(base), sceneSignature(flicker), [])).toBe(false);
    const cut: RgbImage = { ...base, pixels: base.pixels.map((v) => 255 - v) };
    expect(changedOutside(sceneSignature(base), sceneSignature(cut), [])).toBe(true);
    expect(changedOutside(sceneSignature(base), sceneSignature(texturedImage(320, 240)), [])).toBe(true);
  });

  it('reads brightness changes below its threshold as light flicker', () => {
    const dimmer: RgbImage = { ...base, pixels: base.pixels.map((v) => Math.max(0, v - (CELL_CHANGE - 2))) };
    expect(changedOutside(sceneSignature(base), sceneSignature(dimmer), [])).toBe(false);
  });
});
