import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../../src/core/config/train-config.js';
import type { Logger } from '../../../src/core/logger.js';
import { at } from '../../../src/core/util/at.js';
import { prepareRunData } from '../../../src/node/train/data.js';
import {
  type FeatureCacheKey,
  featureCacheDir,
  hashIds,
  hashModelWeights,
} from '../../../src/node/train/feature-cache.js';
import {
  featureCacheKey,
  featureViews,
  prepareRunFeatures,
  runPreprocess,
} from '../../../src/node/train/features.js';
import { featureItemSet } from '../../../src/node/train/item-sets.js';
import { tinyBackbone } from '../../support/tiny-backbone.js';
import { tinyLoadedBackbone } from '../../support/tiny-loaded-backbone.js';

const work = await mkdtemp(join(tmpdir(), 'features-'));
afterAll(() => rm(work, { recursive: true, force: true }));
const silent: Logger = { info: () => {}, warn: () => {} };

function config(cacheDir: string, features: Record<string, unknown>, root = 'data/sample/ham10000') {
  return parseTrainConfig({
    data: { root: resolve(root) },
    model: { backbone: 'mobilenet_v1' },
    features: { engine: 'tfjs', cacheRoot: join(work, cacheDir), ...features },
    output: { runsDir: join(work, 'runs') },
  });
}

async function features(
  cacheDir: string,
  extra: Record<string, unknown>,
  options: { root?: string; backbone?: ReturnType<typeof tinyLoadedBackbone>; logger?: Logger } = {},
) {
  const cfg = config(cacheDir, extra, options.root);
  const logger = options.logger ?? silent;
  const data = await prepareRunData(cfg, await mkdtemp(join(work, 'run-')), { logger });
  const records = [...data.parts.train, ...data.parts.val, ...data.parts.test].slice(0, 24);
  const run = await prepareRunFeatures(cfg, options.backbone ?? tinyLoadedBackbone(), records, { logger });
  await run.images.close();
  return { run, records, classes: data.classes };
}

/** Every JPEG under `root`, sorted. */
async function jpegs(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries
    .filter((e) => e.endsWith('.jpg'))
    .sort()
    .map((e) => join(root, e));
}

describe('prepareRunFeatures: cache keys cover what the features depend on', () => {
  it('rebuilds both caches when every image is replaced by another under the same name', async () => {
    const root = join(work, 'replaced');
    await cp(resolve('data/sample/ham10000'), root, { recursive: true });
    const before = await features('replace', {}, { root });
    const files = await jpegs(root);
    const contents = await Promise.all(files.map((f) => readFile(f)));
    // image i now holds image i+1's bytes: same names, same dataset, other pixels
    await Promise.all(files.map((f, i) => writeFile(f, at(contents, (i + 1) % files.length))));
    const lines: string[] = [];
    const logger: Logger = {
      info: (m) => {
        lines.push(m);
      },
      warn: (m) => {
        lines.push(m);
      },
    };
    const after = await features('replace', {}, { root, logger });
    expect(lines.filter((l) => /reus/.test(l))).toEqual([]);
    expect(after.run.extractSeconds).toBeGreaterThan(0);
    expect(after.run.features.dir).not.toBe(before.run.features.dir);
    expect(after.run.images.dir).not.toBe(before.run.images.dir);
    expect(after.run.features.ids).toEqual(before.run.features.ids);
    expect(Array.from(after.run.features.data)).not.toEqual(Array.from(before.run.features.data));
  });

  it('keys on the weight values, not only on the weights name', async () => {
    const a = await features('weights', {});
    const b = await features('weights', {}, { backbone: tinyLoadedBackbone({ model: tinyBackbone(16, 6) }) });
    expect(b.run.extractSeconds).toBeGreaterThan(0);
    expect(b.run.features.dir).not.toBe(a.run.features.dir);
    const again = await features('weights', {});
    expect(again.run.extractSeconds).toBe(0);
    expect(again.run.features.dir).toBe(a.run.features.dir);
  });
});

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

  it('says in the log that features.augment is unused without random views', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      info: () => {},
      warn: (m) => {
        warnings.push(m);
      },
    };
    await features('unused', { views: 1, augment: { rotate: 90 } }, { logger });
    expect(warnings).toEqual([expect.stringMatching(/^features\.augment is not used: .*randomViews is 0/)]);
  });

  it('names a bad augmentation setting (the config schema refuses it before any work)', async () => {
    await expect(features('c', { randomViews: 1, augment: { rotate: 500 } })).rejects.toThrow(
      /^expected a number <= 180 for config features\.augment\.rotate but received 500; allowed keys: flip, rotate, /,
    );
  });
});

describe('prepareRunFeatures: features.batchSize in the cache key', () => {
  it('leaves it out without random views: exact-view caches keep their keys, whatever the batch size', async () => {
    const a = await features('exact', { views: 2, batchSize: 8 });
    const b = await features('exact', { views: 2, batchSize: 5 });
    expect(b.run.extractSeconds).toBe(0);
    expect(b.run.features.dir).toBe(a.run.features.dir);
    // the key exactly as it was before batch sizes entered it (real-data caches of many GiB depend on it)
    const cfg = config('exact', { views: 2, batchSize: 5 });
    const backbone = tinyLoadedBackbone();
    const preprocess = runPreprocess(cfg, backbone);
    const before: FeatureCacheKey = {
      backbone: 'tiny',
      weights: 'random:5',
      weightsHash: hashModelWeights(backbone.model),
      preprocess,
      pooling: 'avg',
      views: ['identity', 'flip_h'],
      randomViews: { count: 0, seed: 42 },
      images: a.run.images.fingerprint,
      ids: hashIds(a.run.images.ids),
    };
    const key = featureCacheKey(cfg, backbone, preprocess, featureViews(cfg), a.run.images);
    expect(JSON.stringify(key)).toBe(JSON.stringify(before));
    expect(a.run.features.dir).toBe(featureCacheDir(join(work, 'exact'), before));
  });

  it('keys random views on it: they are drawn per batch, so another batch size is another cache', async () => {
    const settings = { views: 1, randomViews: 1, augment: { rotate: 90, zoom: [0.7, 1.3] } };
    const a = await features('random', { ...settings, batchSize: 8 });
    const b = await features('random', { ...settings, batchSize: 5 });
    expect(b.run.extractSeconds).toBeGreaterThan(0);
    expect(b.run.features.dir).not.toBe(a.run.features.dir);
    const f = (run: typeof a.run, view: number) =>
      Array.from({ length: run.features.ids.length }, (_, item) =>
        Array.from(
          run.features.data.subarray(
            (item * 2 + view) * run.features.width,
            (item * 2 + view + 1) * run.features.width,
          ),
        ),
      );
    expect(f(b.run, 0)).toEqual(f(a.run, 0)); // the exact view is the same
    expect(f(b.run, 1)).not.toEqual(f(a.run, 1)); // the random one is not
    const again = await features('random', { ...settings, batchSize: 8 });
    expect(again.run.extractSeconds).toBe(0);
    expect(again.run.features.dir).toBe(a.run.features.dir);
  });
});
