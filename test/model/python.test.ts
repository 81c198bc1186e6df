import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The Python side of models/ (teachers, label preparation, losses, training) checks itself in fpnmaa.selftest. This
// runs it as part of the suite, creating models/.venv with models/setup.sh on first use (pip's configured index).
const models = fileURLToPath(new URL('../../models', import.meta.url));
const python = `${models}/.venv/bin/python`;

describe('models/ Python self-checks', () => {
  it(
    'blendshape AU teacher vs its fixture reference, the AU table rule by rule, FER+ vote targets and loss, metrics, training, grown models starting as their source, the AU head refit and its expression table',
    () => {
      if (!existsSync(python)) execFileSync(`${models}/setup.sh`, { stdio: 'inherit' });
      const out = execFileSync(python, ['-m', 'fpnmaa.selftest'], {
        cwd: models,
        encoding: 'utf8',
        env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      });
      for (const check of ['metrics: ok', 'AU teacher: invariant', 'blendshape teacher: fixture reference', 'AU table:', 'FER+ vote targets', 'tiny training:', 'realtime-deep grown', 'realtime-wide grown', 'AU head refit:', 'AU-given-expression table'])
        expect(out).toContain(check);
    },
    20 * 60_000,
  );
});
