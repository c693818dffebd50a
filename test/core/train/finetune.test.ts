import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BACKBONE_NAMES, getBackbone } from '../../../src/core/models/registry.js';
import {
  batchNormState,
  copyTailWeights,
  splitAtBlock,
  unfreezeTopBlocks,
} from '../../../src/core/train/finetune.js';
import { seedModelWeights } from '../../../src/core/train/seed-weights.js';
import { at } from '../../../src/core/util/at.js';
import { expectCleanTopSplits, FULL_SIZE_BACKBONES } from '../../support/backbone-forward.js';
import { tinyBackbone } from '../../support/tiny-backbone.js';

const TINY_BLOCKS = [
  { name: 'a', lastLayer: 'conv_a' },
  { name: 'b', lastLayer: 'conv_b' },
];

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => at(a.sub(b).abs().max().dataSync(), 0));
}

function splitEqualsWhole(
  model: tf.LayersModel,
  blocks: Parameters<typeof splitAtBlock>[1],
  n: number,
  size: number,
) {
  const split = splitAtBlock(model, blocks, n);
  const x = tf.randomUniform([2, size, size, 3], 0, 255, 'float32', 7);
  const whole = model.predict(x) as tf.Tensor;
  const maps = split.prefix.predict(x) as tf.Tensor;
  const parts = split.tail.predict(maps) as tf.Tensor;
  const diff = maxDiff(whole, parts);
  const scale = tf.tidy(() => at(whole.abs().max().dataSync(), 0));
  tf.dispose([x, whole, maps, parts]);
  return { split, diff, scale };
}

describe('splitAtBlock', () => {
  it('prefix then tail equals the whole tiny model, and the tail holds copies of the weights', () => {
    const model = tinyBackbone(16, 5);
    const { split, diff } = splitEqualsWhole(model, TINY_BLOCKS, 1, 16);
    expect(diff).toBeLessThan(1e-6);
    expect(split.boundary).toBe('conv_a');
    expect(split.mapShape).toEqual([8, 8, 6]);
    expect(split.tail.layers.map((l) => l.name)).toEqual(['conv_a_map', 'conv_b']);
    // a copy: changing the tail leaves the backbone alone until copyTailWeights
    const before = Array.from(at(model.getLayer('conv_b').getWeights(), 0).dataSync());
    const tailKernel = at(split.tail.getLayer('conv_b').getWeights(), 0);
    split.tail
      .getLayer('conv_b')
      .setWeights([tailKernel.add(1), at(split.tail.getLayer('conv_b').getWeights(), 1)]);
    expect(Array.from(at(model.getLayer('conv_b').getWeights(), 0).dataSync())).toEqual(before);
    copyTailWeights(split.tail, model);
    const after = Array.from(at(model.getLayer('conv_b').getWeights(), 0).dataSync());
    expect(after[0]).toBeCloseTo(at(before, 0) + 1, 5);
  });

  it('names the range when the number of blocks is out of it', () => {
    expect(() => splitAtBlock(tinyBackbone(16, 5), TINY_BLOCKS, 2)).toThrow(
      'expected a number of blocks from 1 to 1 (tiny has 2 blocks) for fineTune.blocks but received 2; unfreeze from 1 to 1',
    );
  });

  it.each([
    ['mobilenet_v1', 3],
    ['mobilenet_v2', 2],
  ] as const)(
    'prefix + tail of %s (random weights, 64 px, top %i blocks) equal the whole network',
    (name, n) => {
      const spec = getBackbone(name);
      const model = spec.build({ inputSize: 64 });
      seedModelWeights(model, 3);
      const { diff, scale } = splitEqualsWhole(model, spec.blocks, n, 64);
      expect(diff).toBeLessThan(1e-5 * Math.max(1, scale));
    },
  );

  // the top boundaries fine-tuning uses (the full-size networks: test/integration/finetune-split-heavy.test.ts)
  it.each(BACKBONE_NAMES.filter((name) => !FULL_SIZE_BACKBONES.has(name)))(
    '%s splits cleanly below its top 1 and 2 blocks by configuration alone',
    (name) => expectCleanTopSplits(name),
    300_000,
  );
});

describe('unfreezeTopBlocks on a tail', () => {
  it('trains every tail layer but BatchNorm by default, BatchNorm too when asked', () => {
    const spec = getBackbone('mobilenet_v1');
    const model = spec.build({ inputSize: 64 });
    const { tail } = splitAtBlock(model, spec.blocks, 2);
    const frozenBn = unfreezeTopBlocks(tail, spec.blocks, 2);
    expect(frozenBn.map((v) => v.name)).toEqual([
      'backbone/conv_dw_12/0',
      'backbone/conv_pw_12/0',
      'backbone/conv_dw_13/0',
      'backbone/conv_pw_13/0',
    ]);
    expect(unfreezeTopBlocks(tail, spec.blocks, 1).map((v) => v.name)).toEqual([
      'backbone/conv_dw_13/0',
      'backbone/conv_pw_13/0',
    ]);
    const withBn = unfreezeTopBlocks(tail, spec.blocks, 1, true);
    // scale and offset (weights 0 and 1) train; the moving statistics are never trainable weights
    expect(withBn.map((v) => v.name).filter((n) => n.includes('_bn/'))).toEqual([
      'backbone/conv_dw_13_bn/0',
      'backbone/conv_dw_13_bn/1',
      'backbone/conv_pw_13_bn/0',
      'backbone/conv_pw_13_bn/1',
    ]);
    expect(() => unfreezeTopBlocks(tail, spec.blocks, 3)).toThrow(
      /^expected a number of blocks from 1 to 2 \(.* has 2 blocks above its input\) for fineTune.trainBlocks but received 3; unfreeze from 1 to 2$/,
    );
  });
});

describe('batchNormState', () => {
  it("lists every tail BatchNorm layer's moving mean and variance by stable name, apart from the trained weights", () => {
    const spec = getBackbone('mobilenet_v1');
    const model = spec.build({ inputSize: 64 });
    // a second split clones the layers again: TF.js suffixes the clones' variable names, ours stay stable
    splitAtBlock(model, spec.blocks, 1);
    const { tail } = splitAtBlock(model, spec.blocks, 1);
    const trained = unfreezeTopBlocks(tail, spec.blocks, 1, true);
    const state = batchNormState(tail);
    expect(state.map((v) => v.name)).toEqual([
      'backbone/conv_dw_13_bn/moving_mean',
      'backbone/conv_dw_13_bn/moving_variance',
      'backbone/conv_pw_13_bn/moving_mean',
      'backbone/conv_pw_13_bn/moving_variance',
    ]);
    const bn = tail.getLayer('conv_pw_13_bn');
    expect(state.slice(2).map((v) => v.variable.id)).toEqual(bn.weights.slice(2).map((w) => w.read().id));
    const trainedIds = new Set(trained.map((v) => v.variable.id));
    expect(state.some((v) => trainedIds.has(v.variable.id))).toBe(false);
    expect(batchNormState(tinyBackbone(16, 5))).toEqual([]);
  });
});
