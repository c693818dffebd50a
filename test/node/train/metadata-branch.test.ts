import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../../src/core/config/train-config.js';
import { OFFSET_WIDTH } from '../../../src/core/train/metadata.js';
import { createClassifier } from '../../../src/node/infer/classifier.js';
import { trainRun } from '../../../src/node/train/pipeline.js';
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
    const classifier = await createClassifier(run.bundleDir!, { threads: 1 });
    try {
      expect(classifier.views).toEqual(['identity', 'flip_h']);
      expect(classifier.densityRule).toBe(true);
    } finally {
      await classifier.dispose();
    }
  });
});
