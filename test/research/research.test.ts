import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionFactory, loadAffectModel } from '../../server/src/vision/index.ts';
import { fixtureInput, softmax } from '../helpers/modelInput.ts';

// The research tools (models/README.md "Research use"): models/fpnmaa/research_check.py builds a synthetic ABAW folder
// from the fixture faces and checks the loaders, the recipe, evaluate and the paper-checkpoint converter; the ONNX
// files it writes are then loaded here through the server's own loader, which checks the contract.
const models = fileURLToPath(new URL('../../models', import.meta.url));
const python = `${models}/.venv/bin/python`;
const sessions = createSessionFactory({ provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, log: () => {} });
const PAPER = ['Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness', 'Surprise'];


describe('research tools (models/fpnmaa: datasets, metrics, recipe, evaluate, convert_paper)', () => {
  const out = mkdtempSync(join(tmpdir(), 'fpnmaa-research-'));
  let log = '';
  beforeAll(() => {
    if (!existsSync(python)) execFileSync(`${models}/setup.sh`, { stdio: 'inherit' });
    log = execFileSync(python, ['-m', 'fpnmaa.research_check', out], {
      cwd: models,
      encoding: 'utf8',
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  }, 10 * 60_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('the ABAW loaders read exactly what was written and name the bad line; FER+ and class folders', () => {
    expect(log).toContain('loaders: ABAW folder read exactly as written');
    expect(log).toContain('annotated frames without an image: VA 1, EXPR 1');
  });

  it('evaluate prints the official scores of the shipped model, server crops (a frame without a face counted) and dataset crops', () => {
    expect(log).toMatch(/evaluate: shipped model, server crops ABAW2 VA\/EXPR\/AU [0-9.-]+\/[0-9.-]+\/[0-9.-]+ on 8 of 9 frames \(1 without a face\)/);
    const report = JSON.parse(readFileSync(join(out, 'eval-server.json'), 'utf8'));
    expect(report.model).toMatch(/^fpn-maa-realtime \d+\.\d+\.\d+$/);
    expect(Object.keys(report.abaw3)).toEqual(['va', 'expr', 'au', 'p_mtl']);
    expect(Object.keys(report.expression)).toEqual(PAPER);
  });

  it('the recipe (teachers, pseudo-labels, student, two steps each) exports a model the server loads', async () => {
    expect(log).toContain('recipe: three teachers, pseudo-labels (ground truth kept), student, 2 steps each, exported; rerun resumes: ok');
    const model = await loadAffectModel(join(out, 'recipe.onnx'), { sessions });
    expect(model.info.name).toBe('fpn-maa-recipe');
    expect(model.info.crop).toEqual({ method: 'eyes-mouth-v1', scale: 2.753, shift: 0.108 });
    expect(model.info.expressionLabels).toEqual(PAPER);
    expect(model.info.provenance).toContain('pseudo-labels');
    const [p] = await model.predict(fixtureInput(model.info.inputSize), 1);
    expect(Math.abs(p!.valence)).toBeLessThanOrEqual(1);
    await model.release();
  });

  it('the converted paper checkpoint (reference structure, random weights) meets the contract and matches PyTorch within 1e-4', async () => {
    expect(log).toMatch(/converter: onnxruntime vs converted PyTorch max \|diff\| [0-9.e-]+/);
    const parity = JSON.parse(readFileSync(join(out, 'paper-random.parity.json'), 'utf8'));
    const model = await loadAffectModel(join(out, 'paper-random.onnx'), { sessions });
    expect(model.info.inputSize).toBe(128);
    expect(model.info.mean).toEqual([0.485, 0.456, 0.406]);
    expect(model.info.crop).toEqual({ method: 'eyes-mouth-v1', scale: 2.753, shift: 0.108 });
    expect(model.info.expressionLabels).toEqual(PAPER);
    expect(model.info.auThresholds).toEqual(Array(12).fill(0.6225));
    expect(model.info.provenance).toContain('ryanhe312/ABAW2-FPNMAA');
    const [p] = await model.predict(fixtureInput(128), 1);
    expect(Math.abs(p!.valence - parity.va[0])).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(p!.arousal - parity.va[1])).toBeLessThanOrEqual(1e-4);
    softmax(parity.expr).forEach((q, k) => expect(Math.abs(p!.expression.probs[PAPER[k]!]! - q)).toBeLessThanOrEqual(1e-4));
    parity.au.forEach((z: number, k: number) => expect(Math.abs(p!.aus[`AU${[1, 2, 4, 6, 7, 10, 12, 15, 23, 24, 25, 26][k]}`]!.p - 1 / (1 + Math.exp(-z)))).toBeLessThanOrEqual(1e-4));
    await model.release();
  });
});
