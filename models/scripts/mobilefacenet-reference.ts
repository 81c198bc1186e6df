/**
 * tfjs reference for the MobileFaceNet weight transplant (models/fpnmaa/mobilefacenet.py): runs the original
 * `mobilefacenet.json` graph (tfjs + wasm) on the centre 112 x 112 of the first N stored training crops, input
 * (pixel - 127.5) / 127.5, and writes the embeddings. `python -m fpnmaa.selftest` compares the torch port with them.
 *   npx tsx models/scripts/mobilefacenet-reference.ts [models/cache] [N]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { graphHandler } from './teachers.ts';

const cache = process.argv[2] ?? 'models/cache';
const n = Number(process.argv[3] ?? 8);
const STORE = 128;
const SERVE = 112;
const margin = (STORE - SERVE) / 2;

await tf.setBackend('wasm');
await tf.ready();
const model = await tf.loadGraphModel(graphHandler(join(cache, 'hm/package/models/mobilefacenet.json')));
const crops = readFileSync(join(cache, 'crops/crops128.u8'));
const input = new Float32Array(n * SERVE * SERVE * 3);
for (let f = 0; f < n; f++)
  for (let y = 0; y < SERVE; y++)
    for (let x = 0; x < SERVE; x++)
      for (let c = 0; c < 3; c++)
        input[((f * SERVE + y) * SERVE + x) * 3 + c] = (crops[((f * STORE + y + margin) * STORE + x + margin) * 3 + c]! - 127.5) / 127.5;
const out = model.predict(tf.tensor4d(input, [n, SERVE, SERVE, 3])) as tf.Tensor;
const embeddings = (await out.array()) as number[][];
const path = join(cache, 'mobilefacenet-reference.json');
writeFileSync(path, JSON.stringify({ faces: n, input: 'centre 112 of crops128.u8, (p - 127.5) / 127.5', embeddings }));
console.log(`wrote ${path} (${n} embeddings of ${embeddings[0]!.length})`);
