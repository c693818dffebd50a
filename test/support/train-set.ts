import * as tf from '@tensorflow/tfjs';
import { Head } from '../../src/core/train/head.js';
import { Prng } from '../../src/core/train/prng.js';
import type { ItemSet, TrainHeadOptions } from '../../src/core/train/trainer.js';
import { at } from '../../src/core/util/at.js';

/** Gaussian-ish clusters: `n` items of `width` features in `k` classes, `views` noisy copies per item. */
export function syntheticSet(
  n: number,
  width: number,
  k: number,
  views: number,
  seed: number,
): ItemSet & { data: Float32Array } {
  const centreRng = new Prng(1234);
  const centres = Array.from({ length: k }, () => centreRng.uniform(width, -1, 1));
  const rng = new Prng(seed);
  const labels = Int32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : i % k));
  const data = new Float32Array(n * views * width);
  for (let i = 0; i < n; i++) {
    const centre = at(centres, at(labels, i));
    for (let v = 0; v < views; v++) {
      const noise = rng.uniform(width, -1.2, 1.2);
      data.set(
        centre.map((c, d) => c + at(noise, d)),
        (i * views + v) * width,
      );
    }
  }
  return {
    labels,
    views,
    data,
    batch: (indices, viewsOf) => {
      const out = new Float32Array(indices.length * width);
      indices.forEach((item, row) => {
        out.set(
          data.subarray(
            (item * views + at(viewsOf, row)) * width,
            (item * views + at(viewsOf, row) + 1) * width,
          ),
          row * width,
        );
      });
      return tf.tensor2d(out, [indices.length, width]);
    },
  };
}

/** Common options of the trainer tests. */
export function baseOptions(head: Head, train: ItemSet, val: ItemSet): TrainHeadOptions {
  return {
    head,
    train,
    val,
    epochs: 6,
    batchSize: 16,
    learningRate: 0.01,
    loss: { classWeights: Float32Array.from([1, 1, 1]), kind: 'cross-entropy', focalGamma: 0 },
    earlyStopping: { patience: 3, minDelta: 0 },
    reduceLr: { patience: 2, factor: 0.5, minLr: 1e-5 },
    seed: 3,
  };
}

/** A fresh head with the same seeded init each time. */
export function makeHead(width: number, hidden = 0, dropout = 0.3): Head {
  return Head.create({ inputWidth: width, hidden, numClasses: 3, dropout }, new Prng(11));
}

/** History without wall-clock seconds (which never repeat). */
export function stripSeconds<T extends { seconds: number }>(rows: readonly T[]): Omit<T, 'seconds'>[] {
  return rows.map(({ seconds: _seconds, ...rest }) => rest);
}
