import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepFrozenBatchNormInInference, setTrainableTop } from '../../../src/core/models/freeze.js';
import { getBackbone } from '../../../src/core/models/registry.js';
import { buildClassifier, buildHead, copyHeadWeights } from '../../../src/core/train/head.js';
import { at } from '../../../src/core/util/at.js';

const spec = getBackbone('mobilenet_v2');

describe('buildClassifier / buildHead', () => {
  let classifier: tf.LayersModel;
  beforeAll(() => {
    classifier = buildClassifier(spec.build({ inputSize: 32 }), { numClasses: 7, dropout: 0.3 });
  });
  afterAll(() => classifier.dispose());

  it('adds pool -> dropout -> linear logits -> softmax on a frozen backbone', () => {
    expect(classifier.layers.slice(-4).map((l) => [l.name, l.getClassName()])).toEqual([
      ['head_pool', 'GlobalAveragePooling2D'],
      ['head_dropout', 'Dropout'],
      ['head_logits', 'Dense'],
      ['head_softmax', 'Activation'],
    ]);
    expect(classifier.getLayer('head_logits').getConfig()).toMatchObject({ activation: 'linear', units: 7 });
    expect(classifier.getLayer('head_dropout').getConfig()).toMatchObject({ rate: 0.3 });
    expect(at(classifier.outputs, 0).shape).toEqual([null, 7]);
    expect(classifier.trainableWeights.map((w) => w.originalName)).toEqual([
      'head_logits/kernel',
      'head_logits/bias',
    ]);
  });

  it('gives the same probabilities as buildHead on pooled features after copyHeadWeights', () => {
    const head = buildHead(spec.featureWidth, 7, 0.3);
    expect(head.getLayer('head_logits').weights.map((w) => w.shape)).toEqual(
      classifier.getLayer('head_logits').weights.map((w) => w.shape),
    );
    copyHeadWeights(head, classifier);
    const pooledModel = tf.model({
      inputs: classifier.inputs,
      outputs: classifier.getLayer('head_pool').output as tf.SymbolicTensor,
    });
    const x = tf.randomUniform([3, 32, 32, 3], 0, 255, 'float32', 7);
    const [direct, viaHead] = tf.tidy(() => [
      (classifier.predict(x) as tf.Tensor).arraySync() as number[][],
      (head.predict(pooledModel.predict(x) as tf.Tensor) as tf.Tensor).arraySync() as number[][],
    ]);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 7; j++) expect(at(viaHead, i)[j]).toBeCloseTo(at(at(direct, i), j), 6);
    expect(at(direct, 0).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    x.dispose();
    head.dispose();
  });

  it('refuses a head of other shape and bad options', () => {
    const other = buildHead(spec.featureWidth, 3);
    expect(() => copyHeadWeights(other, classifier)).toThrow(
      /^expected the head weight shapes of the target \[\[\d+,7\],\[7\]\] for the trained head \(copyHeadWeights\) but received \[\[\d+,3\],\[3\]\]; same featureWidth/,
    );
    other.dispose();
    expect(() => buildHead(10, 1)).toThrow(
      'expected an integer >= 2 for the head numClasses but received 1; pass one class per label',
    );
    expect(() => buildHead(10, 7, 1)).toThrow(
      'expected a rate in [0, 1) for the head dropout but received 1; e.g. dropout 0.5',
    );
  });

  it('setTrainableTop unfreezes the top N blocks but never BatchNorm', () => {
    expect(setTrainableTop(classifier, spec, 0)).toBe(1);
    const n = setTrainableTop(classifier, spec, 2);
    const trainable = classifier.layers.filter((l) => l.trainable && l.weights.length > 0).map((l) => l.name);
    expect(trainable).toEqual([
      'block_16_expand',
      'block_16_depthwise',
      'block_16_project',
      'Conv_1',
      'head_logits',
    ]);
    expect(n).toBe(trainable.length);
    expect(classifier.getLayer('Conv_1_bn').trainable).toBe(false);
    expect(classifier.getLayer('block_15_project').trainable).toBe(false);
    setTrainableTop(classifier, spec, spec.blocks.length);
    expect(classifier.getLayer('Conv1').trainable).toBe(true);
    expect(() => setTrainableTop(classifier, spec, spec.blocks.length + 1)).toThrow(
      'expected an integer in 0..19 (mobilenet_v2 has 19 blocks) for setTrainableTop nBlocks but received 20; pass 0 to freeze all or 19 to train every block',
    );
    setTrainableTop(classifier, spec, 0);
  });
});

describe('keepFrozenBatchNormInInference', () => {
  it('keeps moving statistics and inference behaviour of frozen BatchNorm during fit', async () => {
    const input = tf.input({ shape: [4] });
    const bn = tf.layers.batchNormalization({ name: 'bn' });
    const dense = tf.layers.dense({ units: 1, name: 'd' });
    const model = tf.model({ inputs: input, outputs: dense.apply(bn.apply(input)) as tf.SymbolicTensor });
    bn.trainable = false;
    keepFrozenBatchNormInInference(model);
    keepFrozenBatchNormInInference(model); // idempotent
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const before = bn.getWeights().map((w) => Array.from(w.dataSync()));
    const xs = tf.randomNormal([16, 4], 5, 3, 'float32', 1);
    const ys = tf.ones([16, 1]);
    await model.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 });
    expect(bn.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    bn.trainable = true;
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 });
    expect(bn.getWeights().map((w) => Array.from(w.dataSync()))).not.toEqual(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
