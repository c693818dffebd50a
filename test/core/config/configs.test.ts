import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTrainConfig, type TrainConfig } from '../../../src/core/config/train-config.js';
import { parseAugmentConfig } from '../../../src/core/preprocess/augment-config.js';

const DIR = 'configs';
const files = (await readdir(DIR)).filter((name) => name.endsWith('.json')).sort();
const load = async (name: string): Promise<TrainConfig> =>
  parseTrainConfig(JSON.parse(await readFile(join(DIR, name), 'utf8')), join(DIR, name));

describe('configs/: every shipped configuration', () => {
  it('ships the seed recipe for three backbones and our best recipe, with and without lesion metadata', () => {
    expect(files).toEqual([
      'best-mobilenet-v1-metadata.json',
      'best-mobilenet-v1.json',
      'seed-convnext-small.json',
      'seed-densenet121.json',
      'seed-inception-resnet-v2.json',
    ]);
  });

  it.each(files)('%s passes the training-config schema, augmentation included', async (name) => {
    const config = await load(name);
    expect(config.fineTune.enabled).toBe(false); // frozen backbone
    expect(config.model.weights).toBe('imagenet');
    expect(config.train.loss).toBe('cross-entropy'); // sparse categorical cross-entropy (integer labels)
    if (config.features.augment) parseAugmentConfig(config.features.augment, `${name} features.augment`);
  });
});

describe('best-mobilenet-v1-metadata.json', () => {
  it('is best-mobilenet-v1.json with the metadata stacker', async () => {
    const [withMetadata, best] = await Promise.all([
      load('best-mobilenet-v1-metadata.json'),
      load('best-mobilenet-v1.json'),
    ]);
    expect(withMetadata.model.metadata).toBe('stacker');
    expect({ ...withMetadata, model: { ...withMetadata.model, metadata: 'none' } }).toEqual(best);
  });
});

describe.each([
  ['seed-inception-resnet-v2.json', 'inception_resnet_v2'],
  ['seed-densenet121.json', 'densenet121'],
  ['seed-convnext-small.json', 'convnext_small'],
])('the seed recipe in %s', (name, backbone) => {
  it(`is ${backbone} frozen, GAP -> dropout -> softmax, balanced class weights, flips/rotation/zoom`, async () => {
    const config = await load(name);
    expect(config.model).toMatchObject({
      backbone,
      pooling: 'avg',
      taps: [],
      hidden: 0,
      standardize: false,
      dropout: 0.5,
    });
    expect(config.train).toMatchObject({
      classWeights: 'balanced',
      classWeightPower: 1,
      learningRate: 1e-3,
      batchSize: 32,
      weightDecay: 0,
      logitAdjustment: { mode: 'none' },
    });
    // no backend pin: the random views' affine warp runs on every backend, tfjs-node included
    expect(config.train.backend).toBe('auto');
    expect(config.features).toMatchObject({ views: 1, tta: false, sampling: 'one' });
    expect(config.features.randomViews).toBeGreaterThan(0);
    const augment = parseAugmentConfig(config.features.augment);
    expect(augment).toMatchObject({ flip: true, rotate: 20, zoom: [0.8, 1.2], fill: 'nearest' });
    expect([augment.brightness, augment.contrast, augment.saturation, augment.hue]).toEqual([0, 0, 0, 0]);
  });

  it('differs from the other seed configs only in the backbone', async () => {
    const config = await load(name);
    const inception = await load('seed-inception-resnet-v2.json');
    expect({ ...config, model: { ...config.model, backbone: 'x' } }).toEqual({
      ...inception,
      model: { ...inception.model, backbone: 'x' },
    });
  });
});

describe('our best recipe (bench:train)', () => {
  it('is MobileNet v1 with six taps, L2 3e-3, lr 5e-3, batch 256, no class weights, post-hoc tau', async () => {
    const config = await load('best-mobilenet-v1.json');
    expect(config.model).toMatchObject({ backbone: 'mobilenet_v1', dropout: 0, standardize: true });
    expect(config.model.taps).toEqual([
      'conv_pw_3_relu',
      'conv_pw_5_relu',
      'conv_pw_7_relu',
      'conv_pw_9_relu',
      'conv_pw_10_relu',
      'conv_pw_11_relu',
    ]);
    expect(config.train).toMatchObject({
      learningRate: 5e-3,
      weightDecay: 3e-3,
      batchSize: 256,
      classWeights: 'none',
      logitAdjustment: { mode: 'posthoc', tau: 0.375 },
      earlyStopping: { patience: 6 },
      reduceLr: { patience: 2 },
    });
    expect(config.features).toMatchObject({ views: 4, tta: true });
  });
});
