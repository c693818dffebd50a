import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../../src/core/config/train-config.js';
import { prepareRunData } from '../../../src/node/train/data.js';
import { prepareRunFeatures } from '../../../src/node/train/features.js';
import { featureItemSet } from '../../../src/node/train/item-sets.js';
import { tinyLoadedBackbone } from './tiny-loaded-backbone.js';

const work = await mkdtemp(join(tmpdir(), 'features-'));
afterAll(() => rm(work, { recursive: true, force: true }));
const silent = { info: () => {}, warn: () => {} };

function config(cacheDir: string, features: Record<string, unknown>) {
  return parseTrainConfig({
    data: { root: resolve('data/sample/ham10000') },
    model: { backbone: 'tiny' },
    features: { engine: 'tfjs', cacheRoot: join(work, cacheDir), ...features },
    output: { runsDir: join(work, 'runs') },
  });
}

async function features(cacheDir: string, extra: Record<string, unknown>) {
  const cfg = config(cacheDir, extra);
  const data = await prepareRunData(cfg, await mkdtemp(join(work, 'run-')), { logger: silent });
  const records = [...data.parts.train, ...data.parts.val, ...data.parts.test].slice(0, 24);
  const run = await prepareRunFeatures(cfg, tinyLoadedBackbone(), records, { logger: silent });
  await run.images.close();
  return { run, records, classes: data.classes };
}

describe('prepareRunFeatures with random augmentation views', () => {
  it('appends seeded augmentation views after the exact ones; evaluation sets see only the exact ones', async () => {
    const settings = { views: 1, randomViews: 2, augment: { rotate: 90, hue: 0.05 } };
    const { run, records, classes } = await features('a', settings);
    const f = run.features;
    expect(f.views).toBe(3);
    const row = (item: number, view: number) =>
      Array.from(f.data.subarray((item * 3 + view) * f.width, (item * 3 + view + 1) * f.width));
    expect(row(0, 1)).not.toEqual(row(0, 0));
    expect(row(0, 2)).not.toEqual(row(0, 1));
    expect(featureItemSet(f, records, classes).views).toBe(3);
    expect(featureItemSet(f, records, classes, 1).views).toBe(1);
    // Same seed and settings, fresh cache: the same random views.
    const again = await features('b', settings);
    expect(Array.from(again.run.features.data)).toEqual(Array.from(f.data));
    // Other augmentation settings are another cache.
    const other = await features('a', { ...settings, augment: { rotate: 10 } });
    expect(other.run.features.dir).not.toBe(f.dir);
  });

  it('names a bad augmentation setting', async () => {
    await expect(features('c', { randomViews: 1, augment: { rotate: 500 } })).rejects.toThrow(
      /features\.augment rotate: .*allowed keys/,
    );
  });
});
