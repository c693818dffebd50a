import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { classificationLoss, logPriorOffset } from '../../../src/core/train/losses.js';
import { at } from '../../../src/core/util/at.js';

const logits = () =>
  tf.tensor2d([
    [2, 0, -1],
    [0.5, 0.5, 0],
    [-1, 3, 0],
  ]);
const labels = () => tf.tensor1d([0, 2, 1], 'int32');
const ones = Float32Array.from([1, 1, 1]);

describe('classificationLoss', () => {
  it('equals mean cross-entropy with unit weights', () => {
    const [l, y] = [logits(), labels()];
    const loss = classificationLoss(l, y, { classWeights: ones, kind: 'cross-entropy', focalGamma: 0 });
    const expected = tf.losses.softmaxCrossEntropy(tf.oneHot(y, 3), l);
    expect(at(loss.dataSync(), 0)).toBeCloseTo(at(expected.dataSync(), 0), 5);
    tf.dispose([l, y, loss, expected]);
  });

  it('smooths labels as TF.js does: (1 − ε)·one-hot + ε/classes', () => {
    const [l, y] = [logits(), labels()];
    const loss = classificationLoss(l, y, {
      classWeights: ones,
      kind: 'cross-entropy',
      focalGamma: 0,
      labelSmoothing: 0.2,
    });
    const expected = tf.losses.softmaxCrossEntropy(tf.oneHot(y, 3), l, undefined, 0.2);
    const plain = classificationLoss(l, y, { classWeights: ones, kind: 'cross-entropy', focalGamma: 0 });
    expect(at(loss.dataSync(), 0)).toBeCloseTo(at(expected.dataSync(), 0), 5);
    expect(at(loss.dataSync(), 0)).not.toBeCloseTo(at(plain.dataSync(), 0), 2);
    tf.dispose([l, y, loss, expected, plain]);
  });

  it('weights samples by class and focal loss down-weights easy samples', () => {
    const [l, y] = [logits(), labels()];
    const weighted = classificationLoss(l, y, {
      classWeights: Float32Array.from([0, 0, 1]),
      kind: 'cross-entropy',
      focalGamma: 0,
    });
    const p = tf.softmax(l).arraySync() as number[][];
    expect(at(weighted.dataSync(), 0)).toBeCloseTo(-Math.log(at(at(p, 1), 2)), 5);
    const ce = classificationLoss(l, y, { classWeights: ones, kind: 'cross-entropy', focalGamma: 0 });
    const focal = classificationLoss(l, y, { classWeights: ones, kind: 'focal', focalGamma: 2 });
    expect(at(focal.dataSync(), 0)).toBeLessThan(at(ce.dataSync(), 0));
    tf.dispose([l, y, weighted, ce, focal]);
  });

  it('adds the logit offset before the softmax and leaks no tensors', () => {
    const [l, y] = [logits(), labels()];
    const before = tf.memory().numTensors;
    const options = {
      classWeights: ones,
      kind: 'cross-entropy' as const,
      focalGamma: 0,
      logitOffset: Float32Array.from([5, 0, 0]),
    };
    const a = classificationLoss(l, y, options);
    const b = classificationLoss(l, y, options);
    expect(tf.memory().numTensors).toBe(before + 2);
    const plain = classificationLoss(l, y, { ...options, logitOffset: undefined });
    expect(at(a.dataSync(), 0)).toBeGreaterThan(at(plain.dataSync(), 0));
    tf.dispose([l, y, a, b, plain]);
  });
});

describe('priors', () => {
  it('log prior offset is tau·log(n_c / n)', () => {
    const offset = logPriorOffset([25, 75], 2);
    expect(offset[0]).toBeCloseTo(2 * Math.log(0.25), 6);
    expect(offset[1]).toBeCloseTo(2 * Math.log(0.75), 6);
  });
});
