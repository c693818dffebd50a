import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { parseTrainConfig, type TrainConfigInput } from '../../../src/core/config/train-config.js';
import {
  fitRecipeHead,
  type HeadTrainingData,
  posthocOffset,
  recipeViews,
  runLossOptions,
} from '../../../src/core/train/head-recipe.js';
import { syntheticSet } from '../../support/train-set.js';

const config = (input: TrainConfigInput = {}) => parseTrainConfig(input, 'test');

describe('the head recipe of a training config', () => {
  it('scores validation and test on the exact views, or the image alone without tta', () => {
    expect(recipeViews(config({ features: { views: 3, tta: true } }))).toEqual([
      'identity',
      'flip_h',
      'flip_v',
    ]);
    expect(recipeViews(config({ features: { views: 3, tta: false } }))).toEqual(['identity']);
  });

  it('subtracts τ·log(prior) after training only in posthoc mode', () => {
    expect(posthocOffset(config(), [10, 30])).toBeUndefined();
    const offset = posthocOffset(
      config({ train: { logitAdjustment: { mode: 'posthoc', tau: 0.5 } } }),
      [10, 30],
    );
    expect(Array.from(offset ?? [])).toEqual([
      expect.closeTo(-0.5 * Math.log(0.25), 6),
      expect.closeTo(-0.5 * Math.log(0.75), 6),
    ]);
  });

  it('weights classes by the training counts and adds log(prior) to the logits in train mode', () => {
    const loss = runLossOptions(config({ train: { logitAdjustment: { mode: 'train', tau: 1 } } }), [10, 30]);
    expect(loss.kind).toBe('cross-entropy');
    // 'balanced' as scikit-learn defines it: N / (k · n_c)
    expect(Array.from(loss.classWeights ?? [])).toEqual([
      expect.closeTo(40 / 20, 6),
      expect.closeTo(40 / 60, 6),
    ]);
    expect(Array.from(loss.logitOffset ?? [])).toEqual([
      expect.closeTo(Math.log(0.25), 6),
      expect.closeTo(Math.log(0.75), 6),
    ]);
    expect(runLossOptions(config(), [10, 30]).logitOffset).toBeUndefined();
  });

  it('passes label smoothing on when set', () => {
    expect(runLossOptions(config({ train: { labelSmoothing: 0.1 } }), [10, 30]).labelSmoothing).toBe(0.1);
    expect(runLossOptions(config(), [10, 30]).labelSmoothing).toBeUndefined();
  });
});

describe('fitRecipeHead', () => {
  const train = syntheticSet(40, 3, 3, 1, 1);
  const val = syntheticSet(15, 3, 3, 1, 2);
  const stats = { mean: Float32Array.from([0, 0, 0]), std: Float32Array.from([1e-9, 1, 3]) };
  const data = (trainStats = () => stats): HeadTrainingData => ({ train, val, width: 3, trainStats });
  const quick = { train: { epochs: 2, batchSize: 8 }, model: { hidden: 0 } };

  it('floors the standardisation absolutely for a frozen run and at half the median std before fine-tuning', async () => {
    const frozen = await fitRecipeHead(config(quick), data(), 3);
    expect(Array.from(frozen.head.inputStandardization?.std ?? [])).toEqual([expect.closeTo(1e-6, 12), 1, 3]);
    const tuned = await fitRecipeHead(config({ ...quick, fineTune: { enabled: true } }), data(), 3);
    expect(Array.from(tuned.head.inputStandardization?.std ?? [])).toEqual([0.5, 1, 3]);
    frozen.head.dispose();
    tuned.head.dispose();
  });

  it('reads no statistics without standardisation, counts the training labels and trains the configured epochs', async () => {
    const trainStats = vi.fn(() => stats);
    const before = tf.memory().numTensors;
    const fitted = await fitRecipeHead(
      config({ ...quick, model: { hidden: 0, standardize: false } }),
      data(trainStats),
      3,
    );
    expect(trainStats).not.toHaveBeenCalled();
    expect(fitted.head.inputStandardization).toBeUndefined();
    const expected = [0, 1, 2].map((c) => train.labels.filter((l) => l === c).length);
    expect(fitted.counts).toEqual(expected);
    expect(fitted.result.history).toHaveLength(2);
    fitted.head.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is seeded by the config: the same seed gives the same head, another seed another one', async () => {
    const weights = async (seed: number) => {
      const fitted = await fitRecipeHead(config({ ...quick, seed }), data(), 3);
      const values = fitted.head.snapshot().map((w) => Array.from(w.values));
      fitted.head.dispose();
      return values;
    };
    const first = await weights(3);
    expect(await weights(3)).toEqual(first);
    expect(await weights(4)).not.toEqual(first);
  });
});
