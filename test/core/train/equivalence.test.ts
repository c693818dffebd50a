import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Head, poolFeatures } from '../../../src/core/train/head.js';
import { Prng } from '../../../src/core/train/prng.js';
import { type ItemSet, predictSet, trainHead } from '../../../src/core/train/trainer.js';
import { at } from '../../../src/core/util/at.js';
import { tinyBackbone } from '../../support/tiny-backbone.js';

const SIZE = 16;
const N = 40;

function images(seed: number): { pixels: Float32Array; labels: Int32Array } {
  const rng = new Prng(seed);
  const labels = Int32Array.from({ length: N }, (_, i) => i % 3);
  const pixels = new Float32Array(N * SIZE * SIZE * 3);
  for (let i = 0; i < N; i++) {
    for (let p = 0; p < SIZE * SIZE * 3; p++) {
      pixels[i * SIZE * SIZE * 3 + p] = Math.round(
        255 * Math.min(1, rng.next() * 0.6 + (p % 3 === labels[i] ? 0.4 : 0)),
      );
    }
  }
  return { pixels, labels };
}

function pixelSet(data: { pixels: Float32Array; labels: Int32Array }): ItemSet {
  const plane = SIZE * SIZE * 3;
  return {
    labels: data.labels,
    views: 1,
    batch: (indices) => {
      const out = new Float32Array(indices.length * plane);
      indices.forEach((i, row) => {
        out.set(data.pixels.subarray(i * plane, (i + 1) * plane), row * plane);
      });
      return tf.tensor4d(out, [indices.length, SIZE, SIZE, 3]);
    },
  };
}

function featureSet(set: ItemSet, backbone: tf.LayersModel, width: number): ItemSet {
  const n = set.labels.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const pixels = set.batch(
    all,
    all.map(() => 0),
  ) as tf.Tensor4D;
  const features = tf.tidy(() => poolFeatures(backbone.predict(pixels) as tf.Tensor4D, 'avg'));
  const values = features.dataSync().slice();
  tf.dispose([pixels, features]);
  return {
    labels: set.labels,
    views: 1,
    batch: (indices) =>
      tf.tensor2d(
        Float32Array.from(indices.flatMap((i) => Array.from(values.subarray(i * width, (i + 1) * width)))),
        [indices.length, width],
      ),
  };
}

describe('cached features vs. the frozen backbone', () => {
  it('trains the same head (K = 1, no augmentation, same seed): predictions equal within 1e-5', async () => {
    const backbone = tinyBackbone(SIZE);
    const width = 8;
    const train = pixelSet(images(1));
    const val = pixelSet(images(2));
    const options = {
      epochs: 4,
      batchSize: 8,
      learningRate: 0.01,
      loss: { classWeights: Float32Array.from([1, 2, 1]), kind: 'cross-entropy' as const, focalGamma: 0 },
      earlyStopping: { patience: 10, minDelta: 0 },
      reduceLr: { patience: 10, factor: 0.5, minLr: 0 },
      seed: 9,
    };
    const spec = { inputWidth: width, hidden: 4, numClasses: 3, dropout: 0.25 };
    const through = Head.create(spec, new Prng(3));
    const features = (x: tf.Tensor) =>
      poolFeatures(backbone.apply(x, { training: false }) as tf.Tensor4D, 'avg');
    const a = await trainHead({ ...options, head: through, train, val, features });
    const cached = Head.create(spec, new Prng(3));
    const b = await trainHead({
      ...options,
      head: cached,
      train: featureSet(train, backbone, width),
      val: featureSet(val, backbone, width),
    });
    expect(b.history.map((r) => r.val_accuracy)).toEqual(a.history.map((r) => r.val_accuracy));
    const pa = await predictSet(through, val, { features });
    const pb = await predictSet(cached, featureSet(val, backbone, width));
    const diff = Math.max(...pa.probabilities.map((p, i) => Math.abs(p - at(pb.probabilities, i))));
    expect(diff).toBeLessThan(1e-5);
    // The heads really trained (not just equal initial weights).
    const init = Head.create(spec, new Prng(3));
    expect(at(init.snapshot(), 0).values).not.toEqual(at(cached.snapshot(), 0).values);
    tf.dispose([through, cached, init].flatMap((h) => h.variables.map((v) => v.variable)));
    backbone.dispose();
  });
});
