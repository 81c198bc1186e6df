import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createFaceAnalyzer,
  createFaceDetector,
  createSessionFactory,
  loadAffectModel,
  type AffectModel,
} from '../../server/src/vision/index.ts';
import { loadImage } from '../../models/scripts/image.ts';
import { fixtureInput, softmax } from '../helpers/modelInput.ts';

// The default model (models/MODEL_CARD.md) and the PyTorch outputs for a fixture input, written at export time
// by models/fpnmaa/export.py (the input is rebuilt here from the same formula).
const MODEL = fileURLToPath(new URL('../../models/affect/fpn-maa-realtime.onnx', import.meta.url));
const parity = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/export-parity.json', import.meta.url)), 'utf8'));
const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });
const PAPER = ['Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness', 'Surprise'];
const AUS = ['AU1', 'AU2', 'AU4', 'AU6', 'AU7', 'AU10', 'AU12', 'AU15', 'AU23', 'AU24', 'AU25', 'AU26'];


describe('shipped default affect model', () => {
  let model: AffectModel;
  beforeAll(async () => {
    model = await loadAffectModel(MODEL, { sessions });
  });

  it('is committed, at most 16 MB, weights inside the file', () => {
    expect(statSync(MODEL).size).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(existsSync(`${MODEL}.data`)).toBe(false);
  });

  it('meets the contract with full metadata', () => {
    const info = model.info;
    expect(info.name).toBe('fpn-maa-realtime');
    expect(info.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.provenance.length).toBeGreaterThan(50);
    expect(info.inputSize).toBe(parity.input_size);
    expect(info.crop).toEqual({ method: 'eyes-mouth-v1', scale: 3, shift: 0.5 });
    expect(info.expressionLabels).toEqual(PAPER);
    expect(info.auLabels).toEqual(AUS);
    expect(info.auThresholds).toHaveLength(12);
    for (const t of info.auThresholds) expect(t > 0 && t < 1).toBe(true);
  });

  it('matches the PyTorch outputs within 1e-4 (raw outputs, onnxruntime-node)', async () => {
    const session = await sessions.create(MODEL);
    const s = parity.input_size;
    const out = await session.run({ input: new Tensor('float32', fixtureInput(s), [1, 3, s, s]) });
    for (const name of ['va', 'expr', 'au'] as const) {
      const got = Array.from(out[name]!.data as Float32Array);
      const want: number[] = parity[name];
      expect(got).toHaveLength(want.length);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-4));
    }
    await session.release();
  });

  it("matches through the server's loader (decoded) and batching changes nothing", async () => {
    const s = parity.input_size;
    const one = fixtureInput(s);
    const [p] = await model.predict(one, 1);
    expect(Math.abs(p!.valence - parity.va[0])).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(p!.arousal - parity.va[1])).toBeLessThanOrEqual(1e-4);
    softmax(parity.expr).forEach((q, k) => expect(Math.abs(p!.expression.probs[PAPER[k]!]! - q)).toBeLessThanOrEqual(1e-4));
    const batch = new Float32Array(4 * one.length);
    for (let i = 0; i < 4; i++) batch.set(i === 2 ? one : one.map((v) => -v), i * one.length);
    const many = await model.predict(batch, 4);
    expect(many[2]!.valence).toBeCloseTo(p!.valence, 5);
    expect(many[2]!.expression.probs).toEqual(expect.objectContaining({ Happiness: expect.closeTo(p!.expression.probs.Happiness!, 5) }));
  });

  it('the smiling astronaut: happiness, positive valence, AU12 active (server detector + aligner)', async () => {
    const analyzer = createFaceAnalyzer({ detector: await createFaceDetector({ sessions }), affectModel: model });
    const faces = await analyzer.analyze(loadImage(fileURLToPath(new URL('../fixtures/astronaut.png', import.meta.url))));
    expect(faces).toHaveLength(1);
    const { affect } = faces[0]!;
    expect(affect.expression.label).toBe('Happiness');
    expect(affect.valence).toBeGreaterThan(0);
    expect(affect.aus.AU12!.active).toBe(true);
  });

  it('a face at rest (Grace Hopper): no brow raise (AU2) or brow lowering (AU4) shown', async () => {
    const analyzer = createFaceAnalyzer({ detector: await createFaceDetector({ sessions }), affectModel: model });
    const faces = await analyzer.analyze(loadImage(fileURLToPath(new URL('../fixtures/grace_hopper.jpg', import.meta.url))));
    expect(faces).toHaveLength(1);
    const { aus } = faces[0]!.affect;
    expect(aus.AU2!.active).toBe(false);
    expect(aus.AU4!.active).toBe(false);
  });
});
