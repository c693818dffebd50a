import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig, type TrainConfig } from '../../../src/core/config/train-config.js';
import { type Logger, silentLogger } from '../../../src/core/logger.js';
import { loadRunData } from '../../../src/node/train/data.js';
import { prepareRunFeatures } from '../../../src/node/train/features.js';
import {
  checkFineTuneSplit,
  openPrefixTail,
  type PrefixTail,
  randomViewNames,
} from '../../../src/node/train/prefix-tail.js';
import { tinyLoadedBackbone } from '../../support/tiny-loaded-backbone.js';

const work = await mkdtemp(join(tmpdir(), 'prefix-tail-'));
afterAll(() => rm(work, { recursive: true, force: true }));

/** The tiny backbone with two blocks: `fineTune.blocks: 1` cuts it after conv_a (tail: conv_b). */
const backbone = () =>
  tinyLoadedBackbone({
    blocks: [
      { name: 'a', lastLayer: 'conv_a' },
      { name: 'b', lastLayer: 'conv_b' },
    ],
  });

function config(
  fineTune: Record<string, unknown>,
  features: Record<string, unknown> = {},
  model: Record<string, unknown> = {},
): TrainConfig {
  return parseTrainConfig({
    data: { root: resolve('data/sample/ham10000') },
    model: { backbone: 'mobilenet_v1', ...model },
    features: { engine: 'tfjs', views: 2, cacheRoot: join(work, 'cache'), ...features },
    fineTune: { enabled: true, blocks: 1, prefixEngine: 'tfjs', cacheDtype: 'float32', ...fineTune },
  });
}

/** Opens a prefix tail over the first 24 images of the sample (8 of them training images), calls `use`, closes all. */
async function withPrefixTail<T>(
  cfg: TrainConfig,
  use: (pt: PrefixTail, train: Awaited<ReturnType<typeof loadRunData>>['parts']['train']) => Promise<T>,
  logger: Logger = silentLogger,
): Promise<T> {
  const data = await loadRunData(cfg, { logger: silentLogger });
  const train = data.parts.train.slice(0, 8);
  const records = [...train, ...data.parts.val.slice(0, 8), ...data.parts.test.slice(0, 8)];
  const loaded = backbone();
  const features = await prepareRunFeatures(cfg, loaded, records, { logger: silentLogger });
  const pt = await openPrefixTail({
    config: cfg,
    backbone: loaded,
    images: features.images,
    classes: data.classes,
    logger,
    trainIds: train.map((r) => r.imageId),
  });
  try {
    return await use(pt, train);
  } finally {
    await pt.dispose();
    await features.images.close();
  }
}

async function values(t: tf.Tensor | Promise<tf.Tensor>): Promise<Float32Array> {
  const tensor = await t;
  const out = (await tensor.data()) as Float32Array;
  tensor.dispose();
  return out;
}

describe('openPrefixTail: fineTune.cachePrefix is a caching choice, not a change of training set', () => {
  it('trains on the features.views exact views on the fly as from the cache, a view per item', async () => {
    const indices = [0, 1, 2, 3, 4, 5];
    const views = [0, 1, 1, 0, 1, 0];
    const cached = await withPrefixTail(config({ cachePrefix: true }), async (pt, train) => {
      expect(pt.source).toBe('cache');
      const set = pt.itemSet(train, true);
      expect(set.views).toBe(2);
      return values(set.batch(indices, views));
    });
    const onTheFly = await withPrefixTail(config({ cachePrefix: false }), async (pt, train) => {
      expect(pt.source).toBe('on-the-fly');
      const set = pt.itemSet(train, true);
      expect(set.views).toBe(2); // was 1: the identity view only
      expect(pt.itemSet(train, false).views).toBe(2);
      return values(set.batch(indices, views));
    });
    expect(onTheFly.length).toBe(cached.length);
    const worst = onTheFly.reduce((m, v, i) => Math.max(m, Math.abs(v - (cached[i] ?? Number.NaN))), 0);
    expect(worst).toBeLessThan(1e-4);
  });

  it('still trains on one augmented view per item with fineTune.augment on the fly', async () => {
    await withPrefixTail(config({ cachePrefix: false, augment: { rotate: 90 } }), async (pt, train) => {
      expect(pt.source).toBe('on-the-fly');
      expect(pt.itemSet(train, true).views).toBe(1);
      expect(pt.itemSet(train, false).views).toBe(2);
    });
  });
});

describe('openPrefixTail: fineTune.augmentViews without fineTune.augment', () => {
  it('says in the log that no augmented views are cached', async () => {
    const warnings: string[] = [];
    const logger: Logger = { info: () => {}, warn: (m) => void warnings.push(m) };
    await withPrefixTail(
      config({ augmentViews: 2 }),
      async (pt) => {
        expect(pt.source).toBe('cache');
      },
      logger,
    );
    expect(warnings).toEqual([expect.stringMatching(/^fineTune\.augmentViews \(2\) is not used: /)]);
  });
});

describe('openPrefixTail: cached augmented views (fineTune.augmentViews) are keyed by features.batchSize', () => {
  it('names the batch size in the random views of the cache key', () => {
    const names = randomViewNames({ rotate: 90 } as never, 2, 42, 8);
    expect(names).toEqual(['random0:seed42:batch8:{"rotate":90}', 'random1:seed42:batch8:{"rotate":90}']);
  });

  it('builds another cache for another batch size (its views are drawn per batch) and reuses its own', async () => {
    const ft = { augment: { rotate: 90, zoom: [0.7, 1.3] }, augmentViews: 1 };
    const read = (pt: PrefixTail, train: readonly unknown[]) =>
      values(
        pt.itemSet(train as never, true).batch(
          train.map((_, i) => i),
          train.map(() => 0),
        ),
      );
    const [dir8, maps8] = await withPrefixTail(config(ft, { batchSize: 8 }), async (pt, train) => {
      expect(pt.augmented?.built).toBe(true);
      return [pt.augmented?.dir, await read(pt, train)] as const;
    });
    const [dir5, maps5] = await withPrefixTail(config(ft, { batchSize: 5 }), async (pt, train) => {
      expect(pt.augmented?.built).toBe(true); // was reused: views drawn in batches of 8 under a batch-5 config
      return [pt.augmented?.dir, await read(pt, train)] as const;
    });
    expect(dir5).not.toBe(dir8);
    expect(Array.from(maps5)).not.toEqual(Array.from(maps8));
    await withPrefixTail(config(ft, { batchSize: 8 }), async (pt) => {
      expect(pt.augmented?.built).toBe(false);
      expect(pt.augmented?.dir).toBe(dir8);
    });
  });
});

describe('checkFineTuneSplit: the fine-tuning split, checked before any work', () => {
  it('passes a good split and leaves the backbone as it was, holding no tensors', () => {
    const loaded = backbone();
    const before = loaded.model.getWeights().map((w) => Array.from(w.dataSync()));
    const trainable = loaded.model.layers.map((l) => l.trainable);
    const tensors = tf.memory().numTensors;
    checkFineTuneSplit(config({}), loaded);
    checkFineTuneSplit(config({ trainBlocks: 1 }, {}, { taps: ['conv_b'] }), loaded);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(loaded.model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    expect(loaded.model.layers.map((l) => l.trainable)).toEqual(trainable);
  });

  it('names fineTune.blocks that leave no prefix', () => {
    expect(() => checkFineTuneSplit(config({ blocks: 2 }), backbone())).toThrow(
      /^expected a number of blocks from 1 to 1 \(tiny has 2 blocks\) for fineTune\.blocks but received 2/,
    );
  });

  it('names taps in the frozen prefix', () => {
    expect(() => checkFineTuneSplit(config({}, {}, { taps: ['conv_a'] }), backbone())).toThrow(
      /^expected taps above the frozen prefix \(above conv_a\) for model\.taps but received conv_a, which lie in it/,
    );
  });

  it('names fineTune.trainBlocks beyond the tail (a config that skipped the schema)', () => {
    const cfg = config({});
    const bad = { ...cfg, fineTune: { ...cfg.fineTune, trainBlocks: 2 } };
    expect(() => checkFineTuneSplit(bad, backbone())).toThrow(/for fineTune\.trainBlocks but received 2/);
  });

  it('names a backbone without blocks; checks nothing when fine-tuning is off', () => {
    expect(() => checkFineTuneSplit(config({}), tinyLoadedBackbone())).toThrow(
      /^expected a backbone that lists blocks to unfreeze for fineTune\.enabled/,
    );
    const off = config({ enabled: false, blocks: 9 }, {}, { taps: ['conv_a'] });
    expect(() => checkFineTuneSplit(off, tinyLoadedBackbone())).not.toThrow();
  });
});
