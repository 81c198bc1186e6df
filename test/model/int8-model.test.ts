import { beforeAll, describe, expect, it } from 'vitest';
import { rgbFrames } from '../../bench/lib/rgbFrames.ts';
import { ConfigError, int8Sibling, loadConfig, SHIPPED_AFFECT_MODEL } from '../../server/src/config.ts';
import { createFaceAnalyzer, createFaceDetector, createSessionFactory, loadAffectModel, type AffectModel } from '../../server/src/vision/index.ts';
import { faceVideoY4m } from '../helpers/faceVideo.ts';

// The shipped model's int8 quantization (models/fpnmaa/quantize.py), which the server runs by default.
const INT8 = int8Sibling(SHIPPED_AFFECT_MODEL);
const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });

describe('the int8 affect model', () => {
  let fp32: AffectModel;
  let int8: AffectModel;
  beforeAll(async () => {
    [fp32, int8] = [await loadAffectModel(SHIPPED_AFFECT_MODEL, { sessions }), await loadAffectModel(INT8, { sessions })];
  });

  it('is the default, and carries the fp32 file\'s contract: labels, crop, thresholds', () => {
    expect(loadConfig({}).vision.affectModelPath).toBe(INT8);
    expect(loadConfig({ VISION_PRECISION: 'fp32' }).vision.affectModelPath).toBe(SHIPPED_AFFECT_MODEL);
    expect(() => loadConfig({ VISION_PRECISION: 'int8', VISION_AFFECT_MODEL: '/nonexistent/model.onnx' })).toThrow(ConfigError);
    // A model of one's own without an int8 file beside it runs as it is, unless int8 is asked for.
    expect(loadConfig({ VISION_AFFECT_MODEL: '/nonexistent/model.onnx' }).vision.affectModelPath).toBe('/nonexistent/model.onnx');
    const { provenance: _a, ...a } = fp32.info;
    const { provenance: _b, ...b } = int8.info;
    expect(b).toEqual(a);
  });

  it('reads the face video as fp32 does: expression on >= 0.95 of frames, |dV| and |dA| p95 <= 0.05', async () => {
    const analyzers = [fp32, int8].map(async (affectModel) => createFaceAnalyzer({ detector: await createFaceDetector({ sessions }), affectModel }));
    const [a, b] = await Promise.all(analyzers);
    const dv: number[] = [];
    const da: number[] = [];
    let agree = 0;
    for await (const frame of rgbFrames(await faceVideoY4m(), { fps: 5, width: 640, height: 480 })) {
      const [fa, fb] = [await a!.analyze(frame), await b!.analyze(frame)];
      expect(fb).toHaveLength(fa.length);
      if (!fa[0]) continue;
      const [pa, pb] = [fa[0].affect, fb[0]!.affect];
      if (pa.expression.label === pb.expression.label) agree += 1;
      dv.push(Math.abs(pa.valence - pb.valence));
      da.push(Math.abs(pa.arousal - pb.arousal));
    }
    const p95 = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(0.95 * (v.length - 1))]!;
    console.log(`int8 vs fp32 on ${dv.length} frames: expression agreement ${(agree / dv.length).toFixed(3)}, |dV| p95 ${p95(dv).toFixed(4)}, |dA| p95 ${p95(da).toFixed(4)}`);
    expect(dv.length).toBeGreaterThanOrEqual(40);
    expect(agree / dv.length).toBeGreaterThanOrEqual(0.95);
    expect(p95(dv)).toBeLessThanOrEqual(0.05);
    expect(p95(da)).toBeLessThanOrEqual(0.05);
  });
});

