import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAM10000_CLASSES } from '../../../src/core/labels.js';
import { at } from '../../../src/core/util/at.js';
import { exportModelBundle } from '../../../src/node/bundle/export.js';
import { readModelBundle } from '../../../src/node/bundle/read.js';
import { createClassifier } from '../../../src/node/infer/classifier.js';
import { writeTinyBundle } from '../../support/tiny-model.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-export-'));
  await writeTinyBundle(join(root, 'run', 'model'), { metrics: { balancedAccuracy: 0.3 } });
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function probs(dir: string): Promise<number[]> {
  const c = await createClassifier(dir, { threads: 1 });
  const px = Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 13) % 256);
  const row = at(await c.classifyPixels(px, 1), 0);
  await c.dispose();
  return Array.from(row);
}

describe('exportModelBundle', () => {
  it('exports a run as an ONNX bundle and a TF.js bundle that classify like the original', async () => {
    const original = await probs(join(root, 'run'));
    const onnxMeta = await exportModelBundle(join(root, 'run'), join(root, 'out-onnx'), 'onnx');
    expect((await readdir(join(root, 'out-onnx'))).sort()).toEqual(['bundle.json', 'model.onnx']);
    expect(onnxMeta.tfjs).toBeUndefined();
    expect(onnxMeta.metrics).toEqual({ balancedAccuracy: 0.3 });
    expect(onnxMeta.onnx.cam).toBe('cam');
    const tfjsMeta = await exportModelBundle(join(root, 'run'), join(root, 'out-tfjs'), 'tfjs');
    expect(tfjsMeta.tfjs).toEqual({ file: 'tfjs/model.json' });
    for (const dir of ['out-onnx', 'out-tfjs']) {
      const p = await probs(join(root, dir));
      p.forEach((v, i) => {
        expect(v).toBeCloseTo(at(original, i), 5);
      });
    }
    expect((await readModelBundle(join(root, 'out-tfjs'))).meta.classes).toEqual([...HAM10000_CLASSES]);
  });

  it('copies an ONNX-only bundle and refuses to make a TF.js bundle from it', async () => {
    const meta = await exportModelBundle(join(root, 'out-onnx'), join(root, 'again'), 'onnx');
    expect(meta.name).toBe('tiny');
    await expect(exportModelBundle(join(root, 'out-onnx'), join(root, 'nope'), 'tfjs')).rejects.toThrow(
      /^expected a bundle with a TF\.js model \(tfjs\/\) for --format tfjs but received .+, which has none; export it as --format onnx$/,
    );
  });
});
