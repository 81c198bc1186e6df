import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { CropSpec } from './alignment.ts';

/**
 * The affect model contract (docs/affect-model-contract.md): what a model file must be for the server to use it
 * correctly with no other information. Checked once at load; a model that fails is refused with every problem
 * listed, so whoever exported it can fix them in one go.
 */
export const CONTRACT_VERSION = '1';

export const INPUT = 'input';
export const OUTPUT_VA = 'va';
export const OUTPUT_EXPR = 'expr';
export const OUTPUT_AU = 'au';

/** The metadata_props keys and the exact form of each value. */
export const METADATA_KEYS = {
  contractVersion: 'affect.contract_version',
  name: 'affect.name',
  version: 'affect.version',
  provenance: 'affect.provenance',
  inputSize: 'affect.input_size',
  mean: 'affect.mean',
  std: 'affect.std',
  crop: 'affect.crop',
  expressionLabels: 'affect.expression_labels',
  auLabels: 'affect.au_labels',
  auThresholds: 'affect.au_thresholds',
} as const;

/** Everything the server learns from a conforming model. */
export interface AffectModelInfo {
  name: string;
  version: string;
  provenance: string;
  inputSize: number;
  mean: [number, number, number];
  std: [number, number, number];
  crop: CropSpec;
  expressionLabels: string[];
  auLabels: string[];
  auThresholds: number[];
}

export class AffectModelContractError extends Error {
  override name = 'AffectModelContractError';
  constructor(
    model: string,
    readonly problems: string[],
  ) {
    super(`affect model ${model} does not meet the contract (docs/affect-model-contract.md): ${problems.join('; ')}`);
  }
}

const json = <T extends z.ZodType>(schema: T) =>
  z.string().transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
      return z.NEVER;
    }
  }).pipe(schema);
const rgb = z.tuple([z.number(), z.number(), z.number()]);
const labels = z
  .array(z.string().min(1))
  .min(1)
  .refine((xs) => new Set(xs).size === xs.length, 'has duplicate labels');

const MetadataSchema = z.object({
  [METADATA_KEYS.contractVersion]: z.literal(CONTRACT_VERSION, {
    error: `must be "${CONTRACT_VERSION}", the contract version this server implements`,
  }),
  [METADATA_KEYS.name]: z.string().min(1),
  [METADATA_KEYS.version]: z.string().min(1),
  [METADATA_KEYS.provenance]: z.string().min(1),
  [METADATA_KEYS.inputSize]: z.string().regex(/^[1-9][0-9]*$/, 'must be a positive integer').transform(Number),
  [METADATA_KEYS.mean]: json(rgb),
  [METADATA_KEYS.std]: json(z.tuple([z.number().positive(), z.number().positive(), z.number().positive()])),
  [METADATA_KEYS.crop]: json(
    z.object({ method: z.literal('eyes-mouth-v1'), scale: z.number().positive(), shift: z.number() }),
  ),
  [METADATA_KEYS.expressionLabels]: json(labels.refine((xs) => xs.length >= 2, 'needs at least 2 labels')),
  [METADATA_KEYS.auLabels]: json(labels),
  [METADATA_KEYS.auThresholds]: json(z.array(z.number().gt(0).lt(1))),
});

type Value = InferenceSession.ValueMetadata;

/** Checks a model's inputs, outputs and metadata against the contract; throws AffectModelContractError if not met. */
export function checkAffectContract(
  model: string,
  inputs: readonly Value[],
  outputs: readonly Value[],
  metadata: Record<string, string>,
): AffectModelInfo {
  const problems: string[] = [];
  const parsed = MetadataSchema.safeParse(metadata);
  if (!parsed.success) {
    // One problem per key (the first): twelve identical complaints about twelve thresholds help nobody.
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const [key, ...inside] = issue.path.map(String);
      if (key === undefined || seen.has(key)) continue;
      seen.add(key);
      const where = inside.length > 0 ? ` [${inside.join('.')}]` : '';
      problems.push(
        metadata[key] === undefined
          ? `metadata ${key} is missing`
          : `metadata ${key}${where} ${issue.message.replace(/^Invalid input: /, '')}`,
      );
    }
  }
  const m = parsed.success ? parsed.data : undefined;
  const size = m?.[METADATA_KEYS.inputSize];
  const classes = m?.[METADATA_KEYS.expressionLabels].length;
  const aus = m?.[METADATA_KEYS.auLabels].length;
  if (m && aus !== m[METADATA_KEYS.auThresholds].length) {
    problems.push(`metadata ${METADATA_KEYS.auThresholds} has ${m[METADATA_KEYS.auThresholds].length} values for ${aus} AU labels`);
  }

  if (inputs.length !== 1 || inputs[0]?.name !== INPUT) {
    problems.push(`expected one input '${INPUT}', got ${describeNames(inputs)}`);
  } else {
    checkTensor(problems, 'input', inputs[0], [3, size, size], `[N,3,${size ?? 'S'},${size ?? 'S'}]`);
  }
  for (const [name, width, what] of [
    [OUTPUT_VA, 2, '2'],
    [OUTPUT_EXPR, classes, classes === undefined ? 'C' : `${classes} (expression labels)`],
    [OUTPUT_AU, aus, aus === undefined ? 'K' : `${aus} (AU labels)`],
  ] as const) {
    const out = outputs.find((o) => o.name === name);
    if (!out) problems.push(`output '${name}' is missing (outputs: ${describeNames(outputs)})`);
    else checkTensor(problems, `output '${name}'`, out, [width], `[N,${what}]`);
  }

  if (problems.length > 0 || !m) throw new AffectModelContractError(model, problems);
  return {
    name: m[METADATA_KEYS.name],
    version: m[METADATA_KEYS.version],
    provenance: m[METADATA_KEYS.provenance],
    inputSize: m[METADATA_KEYS.inputSize],
    mean: m[METADATA_KEYS.mean],
    std: m[METADATA_KEYS.std],
    crop: m[METADATA_KEYS.crop],
    expressionLabels: m[METADATA_KEYS.expressionLabels],
    auLabels: m[METADATA_KEYS.auLabels],
    auThresholds: m[METADATA_KEYS.auThresholds],
  };
}

/**
 * float32, a dynamic batch dimension first (the server batches faces across streams), then `dims`.
 * An undefined entry in `dims` is a size the metadata should have given: not checked, its problem is reported.
 */
function checkTensor(
  problems: string[],
  what: string,
  value: Value,
  dims: readonly (number | undefined)[],
  expected: string,
): void {
  if (!value.isTensor) {
    problems.push(`${what} must be a float32 tensor ${expected}, got a non-tensor value`);
    return;
  }
  const [batch, ...rest] = value.shape;
  const ok =
    value.type === 'float32' &&
    value.shape.length === dims.length + 1 &&
    (typeof batch === 'string' || batch === -1) &&
    dims.every((d, i) => d === undefined || rest[i] === d);
  if (!ok) problems.push(`${what} must be float32 ${expected} with a dynamic N, got ${value.type} [${value.shape.join(',')}]`);
}

function describeNames(values: readonly Value[]): string {
  return values.length === 0 ? 'none' : values.map((v) => `'${v.name}'`).join(', ');
}
