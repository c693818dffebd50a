import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../src/core/config/train-config.js';
import type { LoadedBackbone } from '../../src/node/train/backbone.js';
import { trainRun } from '../../src/node/train/pipeline.js';
import { tinyBackbone } from '../core/train/tiny-backbone.js';
import { tinyLoadedBackbone } from '../node/train/tiny-loaded-backbone.js';

const work = await mkdtemp(join(tmpdir(), 'train-ft-'));
afterAll(() => rm(work, { recursive: true, force: true }));

let last: tf.LayersModel | undefined;
const tiny = async (): Promise<LoadedBackbone> => {
  const loaded = tinyLoadedBackbone({
    blocks: [
      { name: 'a', lastLayer: 'conv_a' },
      { name: 'b', lastLayer: 'conv_b' },
    ],
  });
  last = loaded.model;
  return loaded;
};

const config = (name: string) =>
  parseTrainConfig({
    data: { root: resolve('data/sample/ham10000') },
    model: { backbone: 'mobilenet_v1', dropout: 0.1 },
    features: { engine: 'tfjs', views: 1, cacheRoot: join(work, 'cache') },
    train: { epochs: 2, batchSize: 16, learningRate: 0.01 },
    fineTune: { enabled: true, blocks: 1, epochs: 2, learningRate: 1e-3, batchSize: 16 },
    output: { runsDir: join(work, 'runs'), name },
  });

const kernel = (model: tf.LayersModel, layer: string) =>
  Array.from(model.getLayer(layer).getWeights()[0].dataSync());

describe('fine-tuning on the cpu backend (tiny backbone)', () => {
  it('trains only the unfrozen top block and the head, after the head stage', async () => {
    const initial = tinyBackbone(16, 5);
    const result = await trainRun(config('ft'), { loadBackbone: tiny });
    expect(result.history.map((r) => r.epoch)).toEqual([1, 2, 3, 4]);
    expect(result.history[2].lr).toBe(1e-3);
    expect(kernel(last!, 'conv_a')).toEqual(kernel(initial, 'conv_a'));
    expect(kernel(last!, 'conv_b')).not.toEqual(kernel(initial, 'conv_b'));
    expect(result.test!.count).toBeGreaterThan(10);
    expect(result.bundleDir).toBeDefined();
  });

  it('resumes a run interrupted during fine-tuning to the same metrics', async () => {
    const reference = await trainRun(config('ft-ref'), { loadBackbone: tiny });
    const cut = await trainRun(config('ft-cut'), {
      loadBackbone: tiny,
      interruptAfter: (epoch) => epoch === 3,
    });
    expect(cut.interrupted).toBe(true);
    const resumed = await trainRun(config('x'), { loadBackbone: tiny, resumeDir: cut.runDir });
    const strip = (rows: typeof reference.history) => rows.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(resumed.history)).toEqual(strip(reference.history));
    expect(resumed.test!.scores).toEqual(reference.test!.scores);
  });
});
