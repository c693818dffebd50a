import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig, type TrainConfig } from '../../src/core/config/train-config.js';
import { at } from '../../src/core/util/at.js';
import { readModelBundle } from '../../src/node/bundle/read.js';
import { createClassifier } from '../../src/node/infer/classifier.js';
import type { BackboneLoader } from '../../src/node/train/backbone.js';
import { trainRun } from '../../src/node/train/pipeline.js';
import { RUN_FILES } from '../../src/node/train/run-dir.js';
import { tinyLoadedBackbone } from '../support/tiny-loaded-backbone.js';

const SAMPLE = resolve('data/sample/ham10000');
const work = await mkdtemp(join(tmpdir(), 'train-it-'));
afterAll(() => rm(work, { recursive: true, force: true }));

const tiny: BackboneLoader = async () => tinyLoadedBackbone();

function config(name: string, extra: Record<string, unknown> = {}): TrainConfig {
  return parseTrainConfig({
    data: { root: SAMPLE },
    model: { backbone: 'mobilenet_v1', hidden: 4, dropout: 0.2 },
    features: { engine: 'tfjs', views: 2, cacheRoot: join(work, 'cache') },
    train: { epochs: 4, batchSize: 16, learningRate: 0.01, earlyStopping: { patience: 10 } },
    output: { runsDir: join(work, 'runs'), name },
    ...extra,
  });
}

const strip = (rows: readonly { seconds: number }[]) => rows.map(({ seconds: _s, ...rest }) => rest);

describe('trainRun on the embedded sample (tiny backbone, cpu)', () => {
  it('writes a complete run directory with a loadable bundle and test scores', async () => {
    const result = await trainRun(config('full'), { loadBackbone: tiny });
    for (const [key, file] of Object.entries(RUN_FILES))
      if (key !== 'fineTuneCheckpoint') await access(join(result.runDir, file));
    const csv = await readFile(join(result.runDir, RUN_FILES.metricsCsv), 'utf8');
    expect(csv.trim().split('\n')).toHaveLength(5);
    const bundle = await readModelBundle(result.bundleDir!);
    expect(bundle.meta.classes).toEqual(['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc']);
    expect(bundle.meta.preprocess.width).toBe(16);
    // the test scores are those of the test split's ids, recomputed here from the returned probabilities
    const test = result.test!;
    const split = JSON.parse(await readFile(join(result.runDir, RUN_FILES.split), 'utf8'));
    expect([...test.imageIds].sort()).toEqual([...split.parts.test].sort());
    expect(test.count).toBe(test.imageIds.length);
    expect(test.count).toBeGreaterThan(10);
    const predicted = test.labels.map((_, i) => {
      const row = Array.from(test.probabilities.subarray(i * 7, i * 7 + 7));
      return row.indexOf(Math.max(...row));
    });
    const correct = predicted.filter((p, i) => p === test.labels[i]).length;
    expect(test.scores.accuracy).toBe(correct / test.count);
    const present = [...new Set(test.labels)];
    const recall = (c: number) =>
      predicted.filter((p, i) => p === c && test.labels[i] === c).length /
      test.labels.filter((l) => l === c).length;
    expect(test.scores.balancedAccuracy).toBeCloseTo(
      present.reduce((sum, c) => sum + recall(c), 0) / present.length,
      12,
    );
    const saved = JSON.parse(await readFile(join(result.runDir, RUN_FILES.config), 'utf8'));
    expect(saved.train.epochs).toBe(4);
  });

  it('is deterministic, and a run interrupted after epoch 2 resumes to the same final metrics', async () => {
    const reference = await trainRun(config('reference'), { loadBackbone: tiny });
    const again = await trainRun(config('again'), { loadBackbone: tiny });
    expect(strip(again.history)).toEqual(strip(reference.history));
    const cut = await trainRun(config('cut'), { loadBackbone: tiny, interruptAfter: (epoch) => epoch === 2 });
    expect(cut.interrupted).toBe(true);
    expect(cut.bundleDir).toBeUndefined();
    await expect(access(join(cut.runDir, RUN_FILES.bundle))).rejects.toThrow();
    const resumed = await trainRun(config('ignored'), { loadBackbone: tiny, resumeDir: cut.runDir });
    expect(resumed.runDir).toBe(cut.runDir);
    expect(strip(resumed.history)).toEqual(strip(reference.history));
    expect(resumed.test!.scores).toEqual(reference.test!.scores);
  });

  it('extracts the same features with ONNX Runtime as with TF.js', async () => {
    const onnx = await trainRun(
      config('onnx', { features: { engine: 'onnx', views: 2, cacheRoot: join(work, 'cache-onnx') } }),
      { loadBackbone: tiny },
    );
    const tfjs = await trainRun(config('tfjs'), { loadBackbone: tiny });
    expect(onnx.extractSeconds).toBeGreaterThan(0);
    onnx.history.forEach((row, i) => {
      expect(row.val_loss).toBeCloseTo(at(tfjs.history, i).val_loss, 3);
    });
  });

  it('trains on multi-scale features (taps) and exports a bundle that reproduces the test probabilities', async () => {
    const result = await trainRun(
      config('taps', {
        model: { backbone: 'mobilenet_v1', taps: ['conv_a'], dropout: 0 },
        features: { engine: 'onnx', views: 1, cacheRoot: join(work, 'cache-taps') },
        train: { epochs: 3, batchSize: 16, learningRate: 0.01, backend: 'wasm' },
      }),
      { loadBackbone: tiny },
    );
    const test = result.test!;
    const files = new Map<string, string>();
    for (const part of ['HAM10000_images_part_1', 'HAM10000_images_part_2']) {
      for (const f of await readdir(join(SAMPLE, part)).catch(() => []))
        files.set(f.replace(/\.jpg$/, ''), join(SAMPLE, part, f));
    }
    const classifier = await createClassifier(result.bundleDir!);
    try {
      const out = await classifier.classifyFiles(test.imageIds.map((id) => files.get(id)!));
      out.forEach((row, i) => {
        if (!('probabilities' in row)) throw new Error(row.error);
        for (let c = 0; c < 7; c++)
          expect(at(row.probabilities, c)).toBeCloseTo(at(test.probabilities, i * 7 + c), 4);
      });
    } finally {
      await classifier.dispose();
    }
  });
});
