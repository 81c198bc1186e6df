import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AffectModelContractError, checkAffectContract, METADATA_KEYS } from '../../server/src/vision/affectContract.ts';
import { loadAffectModel } from '../../server/src/vision/AffectModel.ts';
import { createFaceAnalyzer } from '../../server/src/vision/FaceAnalyzer.ts';
import { createFaceDetector } from '../../server/src/vision/FaceDetector.ts';
import { readOnnxMetadata } from '../../server/src/vision/onnxMetadata.ts';
import { createSessionFactory } from '../../server/src/vision/sessions.ts';
import { fixture, TEST_SESSIONS } from './fixtures.ts';
import { loadImage } from '../../models/scripts/image.ts';

// The tiny models come from test/vision/reference/make_affect_fixtures.py.
const sessions = createSessionFactory(TEST_SESSIONS);
const tiny = fixture('affect/affect-tiny.onnx');
const EXPRESSIONS = ['Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness', 'Surprise', 'Other'];
const SIZE = 16;
const FACE = 3 * SIZE * SIZE;

describe('affect model contract: refusals', () => {
  it('refuses an NHWC input', async () => {
    await expect(loadAffectModel(fixture('affect/affect-nhwc-input.onnx'), { sessions })).rejects.toThrow(
      /does not meet the contract \(docs\/affect-model-contract\.md\): input must be float32 \[N,3,16,16\] with a dynamic N, got float32 \[N,16,16,3\]$/,
    );
  });

  it('refuses a model without the au output', async () => {
    await expect(loadAffectModel(fixture('affect/affect-no-au-output.onnx'), { sessions })).rejects.toThrow(
      /: output 'au' is missing \(outputs: 'va', 'expr'\)$/,
    );
  });

  it('refuses a model with missing metadata, naming every missing key', async () => {
    const err = await loadAffectModel(fixture('affect/affect-missing-metadata.onnx'), { sessions }).catch((e) => e);
    expect(err).toBeInstanceOf(AffectModelContractError);
    expect((err as AffectModelContractError).problems).toEqual([
      'metadata affect.mean is missing',
      'metadata affect.au_thresholds is missing',
    ]);
  });

  // The rest of the rules, on the tiny model's real I/O with one thing changed at a time.
  const probe = async () => {
    const s = await sessions.create(tiny);
    return { inputs: s.inputMetadata, outputs: s.outputMetadata, metadata: readOnnxMetadata(readFileSync(tiny)) };
  };
  const problems = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as AffectModelContractError).problems;
    }
    return [];
  };

  it('refuses a fixed batch size, a label/threshold count mismatch, bad JSON and out-of-range thresholds', async () => {
    const { inputs, outputs, metadata } = await probe();
    const fixedBatch = inputs.map((v) => (v.isTensor ? { ...v, shape: [1, 3, SIZE, SIZE] } : v));
    expect(problems(() => checkAffectContract('m', fixedBatch, outputs, metadata))).toEqual([
      'input must be float32 [N,3,16,16] with a dynamic N, got float32 [1,3,16,16]',
    ]);
    const sixLabels = { ...metadata, [METADATA_KEYS.expressionLabels]: JSON.stringify(EXPRESSIONS.slice(0, 6)) };
    expect(problems(() => checkAffectContract('m', inputs, outputs, sixLabels))).toEqual([
      "output 'expr' must be float32 [N,6 (expression labels)] with a dynamic N, got float32 [N,8]",
    ]);
    const fewThresholds = { ...metadata, [METADATA_KEYS.auThresholds]: '[0.5, 0.5]' };
    expect(problems(() => checkAffectContract('m', inputs, outputs, fewThresholds))).toEqual([
      'metadata affect.au_thresholds has 2 values for 12 AU labels',
    ]);
    const broken = { ...metadata, [METADATA_KEYS.crop]: '{method: eyes', [METADATA_KEYS.auThresholds]: JSON.stringify(Array(12).fill(1)) };
    const p = problems(() => checkAffectContract('m', inputs, outputs, broken));
    expect(p).toHaveLength(2);
    expect(p[0]).toBe('metadata affect.crop is not valid JSON');
    expect(p[1]).toMatch(/^metadata affect.au_thresholds \[0\] .*<1$/);
    const future = { ...metadata, [METADATA_KEYS.contractVersion]: '2' };
    expect(problems(() => checkAffectContract('m', inputs, outputs, future))).toEqual([
      'metadata affect.contract_version must be "1", the contract version this server implements',
    ]);
  });
});

describe('affect model: a conforming model', () => {
  it('loads with labels and spec from its metadata', async () => {
    const model = await loadAffectModel(tiny, { sessions });
    expect(model.info).toMatchObject({
      name: 'tiny-contract-fixture',
      version: '0.0.1',
      inputSize: SIZE,
      crop: { method: 'eyes-mouth-v1', scale: 3, shift: 0.5 },
      expressionLabels: EXPRESSIONS,
    });
    expect(model.info.auLabels).toHaveLength(12);
  });

  it('decodes exactly what Python computes from the same batch', async () => {
    const expected = JSON.parse(readFileSync(fixture('affect/affect-tiny.expected.json'), 'utf8'));
    const batch = new Float32Array(3 * FACE);
    for (let n = 0; n < 3; n++)
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < SIZE; y++)
          for (let x = 0; x < SIZE; x++)
            batch[((n * 3 + c) * SIZE + y) * SIZE + x] = Math.sin(0.37 * x + 0.23 * y + 1.1 * c + 2.0 * n);
    const model = await loadAffectModel(tiny, { sessions });
    const out = await model.predict(batch, 3);
    out.forEach((face, n) => {
      expect(face.valence).toBeCloseTo(expected.va[n][0], 5);
      expect(face.arousal).toBeCloseTo(expected.va[n][1], 5);
      expect(face.expression.label).toBe(expected.expressionLabel[n]);
      EXPRESSIONS.forEach((label, c) => expect(face.expression.probs[label]).toBeCloseTo(expected.expressionProbs[n][c], 5));
      model.info.auLabels.forEach((label, k) => {
        expect(face.aus[label]!.p).toBeCloseTo(expected.auProbs[n][k], 5);
        expect(face.aus[label]!.active).toBe(expected.auActive[n][k]);
      });
    });
  });

  it('gives identical per-face results batched and one by one', async () => {
    const model = await loadAffectModel(tiny, { sessions });
    const batch = Float32Array.from({ length: 5 * FACE }, (_, i) => Math.cos(i * 0.013) * ((i % 7) - 3));
    const batched = await model.predict(batch, 5);
    const single = [];
    for (let n = 0; n < 5; n++) single.push(...(await model.predict(batch.slice(n * FACE, (n + 1) * FACE), 1)));
    expect(batched).toEqual(single);
    // Different faces give different answers, so a batching mix-up would not pass unnoticed.
    expect(new Set(batched.map((f) => f.valence)).size).toBe(5);
  });

  it('returns nothing for no faces and refuses a batch shorter than its count', async () => {
    const model = await loadAffectModel(tiny, { sessions });
    expect(await model.predict(new Float32Array(0), 0)).toEqual([]);
    await expect(model.predict(new Float32Array(FACE), 2)).rejects.toThrow(/2 faces need 1536 values, got 768/);
  });
});

describe('face analyzer: frame in, faces with affect out', () => {
  it('analyses the astronaut: one face with box, keypoints and affect from the model labels', async () => {
    const analyzer = createFaceAnalyzer({
      detector: await createFaceDetector({ sessions }),
      affectModel: await loadAffectModel(tiny, { sessions }),
    });
    const faces = await analyzer.analyze(loadImage(fixture('astronaut.png')));
    expect(faces).toHaveLength(1);
    const { detection, affect } = faces[0]!;
    expect(detection.keypoints).toHaveLength(6);
    expect(Object.keys(affect.expression.probs)).toEqual(EXPRESSIONS);
    expect(Object.values(affect.expression.probs).reduce((a, b) => a + b)).toBeCloseTo(1, 6);
    expect(Math.abs(affect.valence)).toBeLessThanOrEqual(1);
    expect(Object.keys(affect.aus)).toContain('AU12');
    expect(await analyzer.analyze({ width: 64, height: 48, pixels: new Uint8Array(64 * 48 * 3) })).toEqual([]);
  });
});
