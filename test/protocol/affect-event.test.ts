import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  AFFECT_EVENT_VERSION,
  type AffectEvent,
  AffectEventSchema,
  type AffectStreamEvent,
  AffectStreamEventSchema,
  type FaceLostEvent,
  MAX_LABELS,
} from '../../protocol/affect-event.ts';

const affect: AffectEvent = {
  type: 'affect',
  v: 2,
  seq: 41,
  roomId: 'standup',
  peerId: 'peer-1',
  producerId: 'producer-1',
  faceId: 3,
  arrivalTime: 1_700_000_000_000,
  captureTime: 1_700_000_000_000,
  emitTime: 1_700_000_000_085,
  frame: { width: 640, height: 480 },
  box: { x: 0.25, y: 0.1, w: 0.3, h: 0.4 },
  detScore: 0.97,
  valence: 0.42,
  arousal: -0.1,
  expression: { label: 'happy', probs: { neutral: 0.2, happy: 0.7, surprise: 0.1 } },
  aus: { AU6: { p: 0.8, active: true }, AU12: { p: 0.9, active: true }, AU4: { p: 0.05, active: false } },
  model: { name: 'fpn-maa-student', version: '1.2.0' },
};

const lost: FaceLostEvent = {
  type: 'face-lost',
  v: 2,
  seq: 42,
  roomId: 'standup',
  peerId: 'peer-1',
  producerId: 'producer-1',
  faceId: 3,
  time: 1_700_000_001_000,
};

/** The paths of every issue that parsing `value` raises. */
const issuePaths = (value: unknown) => {
  const result = AffectStreamEventSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
};

describe('AffectStreamEventSchema', () => {
  it('accepts both event kinds as they are, through a JSON round trip', () => {
    expect(AffectStreamEventSchema.parse(JSON.parse(JSON.stringify(affect)))).toEqual(affect);
    expect(AffectStreamEventSchema.parse(JSON.parse(JSON.stringify(lost)))).toEqual(lost);
  });

  it('narrows on type', () => {
    const event = AffectStreamEventSchema.parse(lost);
    expectTypeOf(event).toEqualTypeOf<AffectStreamEvent>();
    if (event.type === 'face-lost') expectTypeOf(event).toEqualTypeOf<FaceLostEvent>();
    expect(event.type).toBe('face-lost');
  });

  it('takes the model labels as they come: no expression or AU list is built in', () => {
    const other = {
      ...affect,
      expression: { label: 'contempt', probs: { contempt: 0.6, calm: 0.4 } },
      aus: { AU45: { p: 0.1, active: false } },
    };
    expect(AffectEventSchema.parse(other)).toEqual(other);
  });

  it('drops unknown fields so an added field does not need a new version', () => {
    expect(AffectStreamEventSchema.parse({ ...lost, reason: 'timeout' })).toEqual(lost);
  });

  it('refuses another version, an unknown type and missing fields', () => {
    expect(AFFECT_EVENT_VERSION).toBe(2);
    // A v1 event (and, the other way round, a v2 event for a v1 client: see docs/client.md).
    const { arrivalTime: _a, ...v1 } = { ...affect, v: 1 };
    expect(issuePaths(v1)).toEqual(['v', 'arrivalTime']);
    expect(issuePaths({ ...lost, v: 3 })).toEqual(['v']);
    expect(issuePaths({ ...lost, type: 'face-found' })).toEqual(['type']);
    const { valence: _, ...noValence } = affect;
    expect(issuePaths(noValence)).toEqual(['valence']);
    // Deprecated, yet still required in v2: a v1 client reading it must find it.
    const { captureTime: _c, ...noCaptureTime } = affect;
    expect(issuePaths(noCaptureTime)).toEqual(['captureTime']);
  });

  it('refuses values out of range', () => {
    expect(issuePaths({ ...affect, valence: 1.5 })).toEqual(['valence']);
    expect(issuePaths({ ...affect, detScore: -0.1 })).toEqual(['detScore']);
    expect(issuePaths({ ...affect, seq: 1.5 })).toEqual(['seq']);
    expect(issuePaths({ ...affect, frame: { width: 0, height: 480 } })).toEqual(['frame.width']);
    expect(issuePaths({ ...affect, aus: { AU6: { p: 2, active: true } } })).toEqual(['aus.AU6.p']);
    expect(issuePaths({ ...affect, arrivalTime: Number.POSITIVE_INFINITY })).toEqual(['arrivalTime']);
    expect(issuePaths({ ...affect, captureTime: -1 })).toEqual(['captureTime']);
  });

  it('refuses a box in pixels or reaching outside the frame', () => {
    expect(issuePaths({ ...affect, box: { x: 160, y: 48, w: 192, h: 192 } })).toEqual([
      'box.x',
      'box.y',
      'box.w',
      'box.h',
      'box',
    ]);
    expect(issuePaths({ ...affect, box: { x: 0.8, y: 0.1, w: 0.3, h: 0.4 } })).toEqual(['box']);
  });

  it('refuses a label missing from probs and probabilities that do not sum to 1', () => {
    expect(issuePaths({ ...affect, expression: { label: 'anger', probs: affect.expression.probs } })).toEqual([
      'expression.label',
    ]);
    // Logits instead of probabilities.
    expect(issuePaths({ ...affect, expression: { label: 'happy', probs: { neutral: 0.2, happy: 2.1 } } })).toEqual([
      'expression.probs.happy',
      'expression.probs',
    ]);
  });

  it('refuses more than MAX_LABELS labels', () => {
    const aus = Object.fromEntries(Array.from({ length: MAX_LABELS + 1 }, (_, i) => [`AU${i}`, { p: 0, active: false }]));
    expect(issuePaths({ ...affect, aus })).toEqual(['aus']);
  });

  it('imports nothing but zod and other protocol files, so the browser can bundle it', () => {
    const source = readFileSync(new URL('../../protocol/affect-event.ts', import.meta.url), 'utf8');
    const imports = [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(imports).toEqual(['zod', './roomId.ts']);
  });
});
