import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at } from '../../../src/core/util/at.js';
import { type Classifier, createClassifier } from '../../../src/node/infer/classifier.js';
import { type InferencePool, startInferencePool } from '../../../src/node/infer/inference-pool.js';
import { createServer } from '../../../src/serve/server.js';
import { jpeg } from '../../support/serve-fixtures.js';
import { writeTinyBundle } from '../../support/tiny-model.js';

let root: string;
let bundle: string;
let classifier: Classifier;
let pool: InferencePool;
const pixels = (n: number, seed = 0) =>
  Uint8Array.from({ length: n * 16 * 16 * 3 }, (_, i) => (i * 31 + seed * 7) % 256);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-inference-pool-'));
  bundle = join(root, 'm');
  await writeTinyBundle(bundle);
  classifier = await createClassifier(bundle, { threads: 1, tta: 'flips' });
  pool = await startInferencePool({ bundle, workers: 2, tta: 'flips' });
});
afterAll(async () => {
  await pool.close();
  await classifier.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('startInferencePool', () => {
  it('answers exactly what the classifier in this thread answers, views included, from each worker', async () => {
    expect(pool.workers).toBe(2);
    expect(pool.threadsPerWorker).toBe(1);
    // Four batches at once: both workers take some (the least busy gets each).
    const batches = [0, 1, 2, 3].map((seed) => pixels(3, seed));
    const fromPool = await Promise.all(batches.map((b) => pool.classifyPixels(b.slice(), 3)));
    for (const [i, b] of batches.entries()) {
      const here = await classifier.classifyPixels(b, 3);
      expect(at(fromPool, i).map((row) => Array.from(row))).toEqual(here.map((row) => Array.from(row)));
    }
  });

  it('leaves a caller view into a larger buffer intact (copies it instead of moving it)', async () => {
    const whole = pixels(4);
    const view = whole.subarray(16 * 16 * 3);
    const rows = await pool.classifyPixels(view, 3);
    expect(rows).toHaveLength(3);
    expect(whole.byteLength).toBe(4 * 16 * 16 * 3);
  });

  it('carries a bad batch error back from the worker', async () => {
    await expect(pool.classifyPixels(pixels(1), 2)).rejects.toThrow(/2 x 16 x 16 x 3/);
  });

  it('serves predictions through the pool with the same probabilities as without it', async () => {
    const image = await jpeg(40, 30);
    const inThread = await createServer(classifier);
    const pooled = await createServer(classifier, { inference: pool });
    const ask = async (app: typeof inThread) =>
      (
        await app.inject({
          method: 'POST',
          url: '/v1/predict',
          payload: image,
          headers: { 'content-type': 'image/jpeg' },
        })
      ).json();
    const [a, b] = [await ask(inThread), await ask(pooled)];
    expect(b.probabilities).toEqual(a.probabilities);
    expect(b.views).toEqual(a.views);
    await inThread.close();
    await pooled.close();
  });

  it('refuses to start on a folder without a bundle, and rejects batches after close', async () => {
    await expect(startInferencePool({ bundle: join(root, 'none'), workers: 1 })).rejects.toThrow(
      /expected bundle.json in the folder/,
    );
    const one = await startInferencePool({ bundle, workers: 1 });
    await one.close();
    await one.close();
    await expect(one.classifyPixels(pixels(1), 1)).rejects.toThrow(/inference pool is closed/);
  });
});
