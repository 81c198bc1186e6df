import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../server/src/webhooks/signature.ts';
import { syntheticAffectEvent } from '../helpers/affectEvent.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

let work: string;
let project: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'client-package-'));
  // npm pack runs the package's prepack (its build) first, as a publish would.
  await run('npm', ['pack', '--workspace', 'packages/client', '--pack-destination', work, '--silent'], { cwd: ROOT });
  const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'))!;
  project = path.join(work, 'consumer');
  // Its dependencies are this repository's installed ones, linked, so that npm installs the package offline (a fresh
  // project would need the registry's metadata to resolve their ranges).
  await mkdir(path.join(project, 'node_modules'), { recursive: true });
  for (const dependency of ['zod', 'socket.io-client']) await symlink(path.join(ROOT, 'node_modules', dependency), path.join(project, 'node_modules', dependency));
  await writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { '@affect-call/client': `file:../${tarball}` } }),
  );
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: project });
}, 240_000);
afterAll(() => rm(work, { recursive: true, force: true }));

describe('@affect-call/client, packed and installed into another project', () => {
  it('holds only the built files, a README and its manifest', async () => {
    const { stdout } = await run('tar', ['-tzf', path.join(work, (await readdir(work)).find((f) => f.endsWith('.tgz'))!)]);
    const files = stdout.trim().split('\n');
    expect(files).toContain('package/README.md');
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/webhooks.js');
    expect(files).toContain('package/dist/whip.js');
    expect(files).toContain('package/dist/types/packages/client/src/whip.d.ts');
    expect(files).toContain('package/dist/types/packages/client/src/index.d.ts');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('verifies a webhook signed as the service signs it, parses a history file, exports the subscriber', async () => {
    const secret = 'a-webhook-secret-of-32-characters!';
    const body = JSON.stringify({ id: 'd1', event: 'room_started', createdAt: 1, roomId: 'demo' });
    const now = Math.floor(Date.now() / 1000);
    const signature = signWebhook(secret, 'd1', now, body);
    const history = [
      JSON.stringify(syntheticAffectEvent('demo', 0)),
      JSON.stringify({ type: 'gap', roomId: 'demo', peerId: 'p', producerId: 's', fromSeq: 1, toSeq: 3 }),
      JSON.stringify({ type: 'face-lost', v: 2, seq: 3, roomId: 'demo', peerId: 'p', producerId: 's', faceId: 1, time: 5 }),
      JSON.stringify({ type: 'end', events: 2, truncated: false, next: null }),
    ].join('\n');
    await writeFile(path.join(project, 'history.jsonl'), `${history}\n`);
    await writeFile(path.join(project, 'broken.jsonl'), `${history.split('\n')[0]}\n{"type":"affect"}\n`);
    await writeFile(
      path.join(project, 'use.mjs'),
      `
      import { readFile } from 'node:fs/promises';
      import { AffectSubscriber, AffectEventSchema, readHistory, HistoryLineError } from '@affect-call/client';
      import { verifyWebhook, WEBHOOK_HEADERS } from '@affect-call/client/webhooks';
      import { publishWhip, WhipError } from '@affect-call/client/whip';
      const [secret, body, timestamp, signature] = process.argv.slice(2);
      const headers = { id: 'd1', timestamp, signature };
      const lines = [];
      for await (const line of readHistory(await readFile('history.jsonl', 'utf8'))) lines.push(line.type);
      let broken;
      try { for await (const _ of readHistory((await import('node:fs')).createReadStream('broken.jsonl'))); } catch (e) { broken = e instanceof HistoryLineError && e.message; }
      console.log(JSON.stringify({
        authentic: verifyWebhook(secret, headers, body),
        tampered: verifyWebhook(secret, headers, body.replace('demo', 'other')),
        header: WEBHOOK_HEADERS.signature,
        lines,
        broken,
        subscriber: typeof AffectSubscriber.connect,
        schema: AffectEventSchema.safeParse({ type: 'affect' }).success,
        whip: typeof publishWhip,
        whipError: new WhipError('refused', 'no', { status: 401, reason: 'unauthorized' }).status,
      }));
      `,
    );
    const { stdout } = await run(process.execPath, ['use.mjs', secret, body, String(now), signature], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      authentic: true,
      tampered: false,
      header: 'webhook-signature',
      lines: ['affect', 'gap', 'face-lost', 'end'],
      broken: expect.stringMatching(/^history line 2: /),
      subscriber: 'function',
      schema: false,
      whip: 'function',
      whipError: 401,
    });
  });

  it('type-checks a consumer: its types are real (a wrong field is an error)', async () => {
    const tsconfig = { compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, skipLibCheck: false, types: [] } };
    await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['good.ts'] }));
    await writeFile(
      path.join(project, 'good.ts'),
      `
      import { AffectSubscriber, readHistory, type AffectEvent, type HistoryLine } from '@affect-call/client';
      import { verifyWebhook } from '@affect-call/client/webhooks';
      import { publishWhip, WhipError, type WhipPublication } from '@affect-call/client/whip';
      export async function valences(text: string): Promise<number[]> {
        const out: number[] = [];
        for await (const line of readHistory(text)) if (line.type === 'affect') out.push(line.valence);
        return out;
      }
      export const ok: boolean = verifyWebhook('s', { id: 'i', timestamp: '1', signature: 'v1,x' }, '{}');
      export const connect: typeof AffectSubscriber.connect = AffectSubscriber.connect;
      export type Both = AffectEvent | HistoryLine;
      export async function publish(stream: MediaStream, token: string): Promise<WhipPublication | number | undefined> {
        try {
          return await publishWhip({ endpoint: 'https://affect.example.com/whip/demo', token, stream, analysis: 'on', timeoutMs: 5000 });
        } catch (error) {
          if (error instanceof WhipError && error.code === 'refused') return error.status;
          throw error;
        }
      }
      `,
    );
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project });

    await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['bad.ts'] }));
    await writeFile(
      path.join(project, 'bad.ts'),
      `import type { AffectEvent } from '@affect-call/client';\nexport const v = (e: AffectEvent): string => e.valence;\n` +
        `import { publishWhip } from '@affect-call/client/whip';\nexport const p = (track: MediaStreamTrack) => publishWhip({ endpoint: '/whip/demo', track, analysis: 'yes' });\n`,
    );
    const failed = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
    expect(failed).toMatch(/bad\.ts\(2,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
    expect(failed).toMatch(/bad\.ts\(4,\d+\): error TS2322: Type '"yes"' is not assignable to type '"off" \| "on" \| undefined'/);
  });
});
