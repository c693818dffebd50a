import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../../src/core/config/train-config.js';
import { silentLogger } from '../../../src/core/logger.js';
import { OFFSET_WIDTH } from '../../../src/core/train/metadata.js';
import { stackerInputWidth } from '../../../src/core/train/metadata-stacker.js';
import { at } from '../../../src/core/util/at.js';
import { loadDataset } from '../../../src/node/data/load-dataset.js';
import { createClassifier } from '../../../src/node/infer/classifier.js';
import { prepareRunData, recordMetadata } from '../../../src/node/train/data.js';
import { prepareRunFeatures } from '../../../src/node/train/features.js';
import { outOfFoldLogits } from '../../../src/node/train/metadata-branch.js';
import { fitHead, trainRun } from '../../../src/node/train/pipeline.js';
import { metadataEffect } from '../../support/metadata-effect.js';
import { tinyLoadedBackbone } from '../../support/tiny-loaded-backbone.js';

const work = await mkdtemp(join(tmpdir(), 'metadata-branch-'));
afterAll(() => rm(work, { recursive: true, force: true }));

describe('a run with model.metadata late-fusion', () => {
  it('records the recipe views, the density rule and the metadata branch in its bundle', async () => {
    const config = parseTrainConfig({
      data: { root: resolve('data/sample/ham10000') },
      model: { backbone: 'mobilenet_v1', metadata: 'late-fusion' },
      features: { engine: 'tfjs', views: 2, cacheRoot: join(work, 'cache') },
      train: { epochs: 2, batchSize: 16, logitAdjustment: { mode: 'posthoc', tau: 0.5 } },
      output: { runsDir: join(work, 'runs'), name: 'meta' },
    });
    const run = await trainRun(config, { loadBackbone: async () => tinyLoadedBackbone() });
    const meta = JSON.parse(await readFile(join(run.bundleDir!, 'bundle.json'), 'utf8'));
    expect(meta.testViews).toEqual(['identity', 'flip_h']);
    expect(meta.logitAdjustment).toEqual({ tau: 0.5, inGraph: true });
    expect(meta.preprocess.density).toEqual({
      enabled: true,
      sourceWidth: 200,
      sourceHeight: 150,
      maxRatio: 1.25,
    });
    expect(meta.metadata.fields).toEqual(['age', 'sex', 'localization']);
    expect(meta.metadata.weights).toHaveLength(7 * OFFSET_WIDTH);
    // the run's test score is the bundle's as predict gives it: each test image with its own metadata
    const results = JSON.parse(await readFile(join(run.runDir, 'results.json'), 'utf8'));
    expect(results.test).toMatchObject({ metadataFused: true, imageOnly: { accuracy: expect.any(Number) } });
    const test = run.test!;
    const byId = new Map((await loadDataset(config.data.root)).records.map((r) => [r.imageId, r]));
    const records = test.imageIds.map((id) => byId.get(id)!);
    const classifier = await createClassifier(run.bundleDir!, { threads: 1 });
    try {
      expect(classifier.views).toEqual(['identity', 'flip_h']);
      expect(classifier.densityRule).toBe(true);
      const predicted = await classifier.classifyFiles(
        records.map((r) => r.path),
        recordMetadata(records),
      );
      const k = test.classes.length;
      predicted.forEach((p, i) => {
        if (!('probabilities' in p)) throw new Error(p.error);
        expect(p.metadata).toBe(true);
        const row = Array.from(test.probabilities.subarray(i * k, (i + 1) * k));
        Array.from(p.probabilities).forEach((v, j) => {
          expect(v).toBeCloseTo(at(row, j), 3);
        });
      });
    } finally {
      await classifier.dispose();
    }
  });

  it('model.metadata stacker records the stacker (mlp-offsets), which predict applies only with metadata', async () => {
    const config = parseTrainConfig({
      data: { root: resolve('data/sample/ham10000') },
      model: { backbone: 'mobilenet_v1', metadata: 'stacker', metadataFit: 'in-sample', metadataHidden: 4 },
      features: { engine: 'tfjs', views: 1, cacheRoot: join(work, 'cache') },
      train: { epochs: 1, batchSize: 16 },
      output: { runsDir: join(work, 'runs'), name: 'stacker' },
    });
    const run = await trainRun(config, { loadBackbone: async () => tinyLoadedBackbone() });
    const meta = JSON.parse(await readFile(join(run.bundleDir!, 'bundle.json'), 'utf8'));
    expect(meta.metadata).toMatchObject({ fusion: 'mlp-offsets', hidden: 4 });
    expect(meta.metadata.weights).toHaveLength(4 * stackerInputWidth(7) + 4 + 7 * 4 + 7);
    const { plain, none, full } = await metadataEffect(run.bundleDir!);
    expect(Array.from(none)).toEqual(Array.from(plain));
    expect(Array.from(full)).not.toEqual(Array.from(plain));
    expect(full.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('scores each training image out of fold: by a head that trained on none of its lesion', async () => {
    const config = parseTrainConfig({
      data: { root: resolve('data/sample/ham10000') },
      model: { backbone: 'mobilenet_v1', metadata: 'late-fusion' },
      features: { engine: 'tfjs', views: 1, cacheRoot: join(work, 'cache') },
      train: { epochs: 1, batchSize: 16 },
    });
    expect(config.model.metadataFit).toBe('out-of-fold');
    const scratch = await mkdtemp(join(work, 'oof-'));
    const data = await prepareRunData(config, scratch, { logger: silentLogger });
    const { images, features } = await prepareRunFeatures(
      config,
      tinyLoadedBackbone(),
      data.dataset.records,
      {
        logger: silentLogger,
      },
    );
    await images.close();
    const folds: Set<string>[] = [];
    const logits = await outOfFoldLogits(config, data, features, (parts) => {
      folds.push(new Set([...parts.train, ...parts.val].map((r) => r.imageId)));
      return fitHead(config, features, parts, data.classes);
    });
    const train = data.parts.train;
    expect(folds).toHaveLength(5);
    expect(logits).toHaveLength(train.length);
    for (const row of logits) {
      expect(row).toHaveLength(data.classes.length);
      for (const v of row) expect(Number.isFinite(v)).toBe(true);
    }
    // The images each fold's head did not see partition the training split, and none shares a lesion with it.
    const scored = folds.map((seen) => train.filter((r) => !seen.has(r.imageId)));
    expect(
      scored
        .flat()
        .map((r) => r.imageId)
        .sort(),
    ).toEqual(train.map((r) => r.imageId).sort());
    folds.forEach((seen, f) => {
      const seenLesions = new Set(train.filter((r) => seen.has(r.imageId)).map((r) => r.groupId));
      for (const r of at(scored, f)) expect(seenLesions.has(r.groupId)).toBe(false);
    });
  });
});
