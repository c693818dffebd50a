import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DIHEDRAL_VIEWS } from '../../../src/core/config/train-config.js';
import { dihedralView } from '../../../src/core/preprocess/views.js';
import {
  buildFeatureExtractor,
  buildTrainedClassifier,
  type FeatureSource,
  featureMaps,
  floorStandardization,
  Head,
  poolFeatures,
} from '../../../src/core/train/head.js';
import { Prng } from '../../../src/core/train/prng.js';
import { at } from '../../../src/core/util/at.js';
import { tinyBackbone } from '../../support/tiny-backbone.js';

describe('Head', () => {
  it('exports into TF.js layers that reproduce its softmax, with the post-hoc offset folded in', () => {
    const sources: [FeatureSource, number][] = [
      [{ pooling: 'avg', taps: [] }, 8],
      [{ pooling: 'avg+max', taps: [] }, 16],
      [{ pooling: 'avg', taps: ['conv_a'] }, 6 + 8],
      [{ pooling: 'avg+max', taps: ['conv_a'] }, 6 + 16],
    ];
    for (const [source, width] of sources) {
      const backbone = tinyBackbone(16);
      const head = Head.create({ inputWidth: width, hidden: 5, numClasses: 3, dropout: 0.5 }, new Prng(1));
      const offset = Float32Array.from([0.3, -0.2, 0.1]);
      const model = buildTrainedClassifier(backbone, head, source, offset);
      const x = tf.randomUniform([2, 16, 16, 3], 0, 255, 'float32', 4);
      const maps = tf.model({ inputs: backbone.inputs, outputs: featureMaps(backbone, source.taps) });
      const expected = tf.tidy(() => {
        const out = maps.predict(x) as tf.Tensor4D | tf.Tensor4D[];
        return tf.softmax(head.logits(poolFeatures(out, source.pooling)).add(tf.tensor1d(offset)));
      });
      const got = model.predict(x) as tf.Tensor;
      expect(got.shape).toEqual([2, 3]);
      const diff = tf.tidy(() => expected.sub(got).abs().max().dataSync()[0]);
      expect(diff).toBeLessThan(1e-5);
      expect(model.layers.map((l) => l.name)).toContain('head_logits');
      tf.dispose([x, expected, got]);
      head.dispose();
      model.dispose();
    }
  });

  it('pools without leaking tensors and the extractor outputs pooled features', () => {
    const backbone = tinyBackbone(16);
    const x = tf.randomUniform([1, 16, 16, 3], 0, 255, 'float32', 2);
    const map = backbone.predict(x) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) poolFeatures(map, 'avg+max').dispose();
    expect(tf.memory().numTensors).toBe(before);
    const extractor = buildFeatureExtractor(backbone, { pooling: 'avg', taps: [] });
    const pooled = extractor.predict(x) as tf.Tensor;
    const direct = poolFeatures(map, 'avg');
    expect(Array.from(pooled.dataSync())).toEqual(Array.from(direct.dataSync()));
    tf.dispose([x, map, pooled, direct]);
    backbone.dispose();
  });

  it("puts each tap's global average before the output's pooling", () => {
    const backbone = tinyBackbone(16);
    const x = tf.randomUniform([2, 16, 16, 3], 0, 255, 'float32', 3);
    const extractor = buildFeatureExtractor(backbone, { pooling: 'avg', taps: ['conv_a'] });
    const pooled = extractor.predict(x) as tf.Tensor2D;
    expect(pooled.shape).toEqual([2, 14]);
    const tapMean = tf.tidy(() =>
      tf.mean(
        backbone.getLayer('conv_a').apply(backbone.getLayer('input_normalization').apply(x)) as tf.Tensor4D,
        [1, 2],
      ),
    );
    const head = tf.tidy(() => pooled.slice([0, 0], [2, 6]));
    const diff = tf.tidy(() => head.sub(tapMean).abs().max().dataSync()[0]);
    expect(diff).toBeLessThan(1e-5);
    tf.dispose([x, pooled, tapMean, head]);
    backbone.dispose();
  });

  it('names a missing tap layer and suggests real ones', () => {
    const backbone = tinyBackbone(16);
    expect(() => buildFeatureExtractor(backbone, { pooling: 'avg', taps: ['conv_z'] })).toThrow(
      /^expected a feature-map layer of the backbone "tiny" for model\.taps but received "conv_z"; use layer names such as .*conv_a/,
    );
    backbone.dispose();
  });

  it('draws reproducible dropout masks scaled by 1/(1-p)', () => {
    const head = Head.create({ inputWidth: 4, hidden: 0, numClasses: 2, dropout: 0.5 }, new Prng(1));
    const a = at(head.dropoutMasks(3, new Prng(7)), 0);
    const b = at(head.dropoutMasks(3, new Prng(7)), 0);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(new Set(a.dataSync())).toEqual(new Set([0, 2]));
    tf.dispose([a, b]);
    head.dispose();
  });
});

describe('dihedralView', () => {
  const size = 3;
  const image = Uint8Array.from({ length: size * size * 3 }, (_, i) => i);
  const pixel = (img: Uint8Array, y: number, x: number) => img[(y * size + x) * 3];

  it('maps pixels like flips and rotations', () => {
    expect(pixel(dihedralView(image, 1, size, 'flip_h'), 0, 0)).toBe(pixel(image, 0, 2));
    expect(pixel(dihedralView(image, 1, size, 'flip_v'), 0, 0)).toBe(pixel(image, 2, 0));
    expect(pixel(dihedralView(image, 1, size, 'transpose'), 0, 1)).toBe(pixel(image, 1, 0));
    // rot90 (counter-clockwise, like np.rot90): the top-right corner moves to the top-left.
    expect(pixel(dihedralView(image, 1, size, 'rot90'), 0, 0)).toBe(pixel(image, 0, 2));
  });

  it('gives 8 distinct views; rot90 four times is the identity', () => {
    const views = DIHEDRAL_VIEWS.map((v) => Array.from(dihedralView(image, 1, size, v)).join(','));
    expect(new Set(views).size).toBe(8);
    let x: Uint8Array = image;
    for (let i = 0; i < 4; i++) x = dihedralView(x, 1, size, 'rot90');
    expect(Array.from(x)).toEqual(Array.from(image));
    expect(() => dihedralView(image, 2, size, 'rot90')).toThrow(/expected 2 square 3x3 RGB images/);
  });
});

describe('Head.foldInputStandardization', () => {
  it('makes the head on raw features equal the head on standardised features', () => {
    const head = Head.create({ inputWidth: 3, hidden: 2, numClasses: 2, dropout: 0 }, new Prng(4));
    const mean = Float32Array.from([1, -2, 0.5]);
    const std = Float32Array.from([2, 0.5, 4]);
    const raw = tf.tensor2d([
      [3, 1, -1],
      [0, 0, 2],
    ]);
    const standardised = raw.sub(tf.tensor1d(mean)).div(tf.tensor1d(std)) as tf.Tensor2D;
    const before = head.logits(standardised);
    head.foldInputStandardization(mean, std);
    const after = head.logits(raw);
    const diff = tf.tidy(() => before.sub(after).abs().max().dataSync()[0]);
    expect(diff).toBeLessThan(1e-5);
    tf.dispose([raw, standardised, before, after]);
    head.dispose();
  });
});

describe('Head input standardisation', () => {
  const stats = {
    mean: Float32Array.from([0.5, 2, -1, 0.1, 3, 0, 1, 0.2]),
    std: Float32Array.from([0.2, 1, 0.5, 1e-3, 2, 0.3, 0.4, 0.05]),
  };

  it('floors stds at a fraction of the median std', () => {
    const floored = floorStandardization(stats, 0.5);
    // median of the stds is (0.3 + 0.4) / 2 = 0.35, floor 0.175
    const want = [0.2, 1, 0.5, 0.175, 2, 0.3, 0.4, 0.175];
    for (const [i, s] of floored.std.entries()) expect(s).toBeCloseTo(at(want, i), 6);
    expect(floored.mean).toBe(stats.mean);
  });

  it('standardises inside logits, folds into the exported first dense layer, and frees its tensors', () => {
    const backbone = tinyBackbone(16);
    const head = Head.create({ inputWidth: 8, hidden: 0, numClasses: 3, dropout: 0 }, new Prng(2));
    const plain = Head.create({ inputWidth: 8, hidden: 0, numClasses: 3, dropout: 0 }, new Prng(2));
    head.standardizeInputs(stats);
    const once = tf.memory().numTensors;
    head.standardizeInputs(stats);
    expect(tf.memory().numTensors).toBe(once);
    const x = tf.randomUniform([4, 8], 0, 3, 'float32', 9);
    const z = tf.tidy(() => x.sub(tf.tensor1d(stats.mean)).div(tf.tensor1d(stats.std)));
    const diff = tf.tidy(
      () =>
        head
          .logits(x as tf.Tensor2D)
          .sub(plain.logits(z as tf.Tensor2D))
          .abs()
          .max()
          .dataSync()[0],
    );
    expect(diff).toBeLessThan(1e-5);
    const source: FeatureSource = { pooling: 'avg', taps: [] };
    const model = buildTrainedClassifier(backbone, head, source);
    const images = tf.randomUniform([2, 16, 16, 3], 0, 255, 'float32', 4);
    const expected = tf.tidy(() =>
      tf.softmax(head.logits(poolFeatures(backbone.predict(images) as tf.Tensor4D, 'avg'))),
    );
    const got = model.predict(images) as tf.Tensor;
    expect(tf.tidy(() => expected.sub(got).abs().max().dataSync()[0])).toBeLessThan(1e-5);
    expect(() => plain.standardizeInputs({ mean: new Float32Array(3), std: new Float32Array(3) })).toThrow(
      "expected a mean and std of 8 features each (the head's input width) for the head standardisation but received a mean/std of 3/3; compute them on the same features",
    );
    tf.dispose([x, z, images, expected, got]);
    plain.dispose();
    const live = tf.memory().numTensors;
    head.dispose();
    // the kernel, the bias and the fixed mean and std
    expect(tf.memory().numTensors).toBe(live - 4);
  });
});

describe('Head.averageOf', () => {
  const spec = { inputWidth: 8, hidden: 0, numClasses: 3, dropout: 0 };

  it("is one linear head whose logits are the mean of the heads' logits, standardisations folded in", () => {
    const before = tf.memory().numTensors;
    const standardized = Head.create(spec, new Prng(3));
    standardized.standardizeInputs({
      mean: Float32Array.from([0.5, 2, -1, 0.1, 3, 0, 1, 0.2]),
      std: Float32Array.from([0.2, 1, 0.5, 0.3, 2, 0.3, 0.4, 0.5]),
    });
    const plain = Head.create(spec, new Prng(4));
    const average = Head.averageOf([standardized, plain]);
    expect(average.spec).toEqual(spec);
    expect(average.inputStandardization).toBeUndefined();
    const x = tf.randomUniform([5, 8], -1, 4, 'float32', 11) as tf.Tensor2D;
    const diff = tf.tidy(() => {
      const mean = standardized.logits(x).add(plain.logits(x)).div(2);
      return average.logits(x).sub(mean).abs().max().dataSync()[0];
    });
    expect(diff).toBeLessThan(1e-5);
    // its own variables: disposing the sources leaves it whole
    standardized.dispose();
    plain.dispose();
    const again = average.logits(x);
    expect(again.shape).toEqual([5, 3]);
    tf.dispose([x, again]);
    average.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a head with a hidden layer, naming it', () => {
    const linear = Head.create(spec, new Prng(5));
    const hidden = Head.create({ ...spec, hidden: 4 }, new Prng(6));
    expect(() => Head.averageOf([linear, hidden])).toThrow(
      'expected linear heads on 8 features with 3 classes for the head average but received a head with 4 hidden units on 8 features, 3 classes; average only linear heads (hidden 0) fitted on the same features and classes',
    );
    linear.dispose();
    hidden.dispose();
  });
});
