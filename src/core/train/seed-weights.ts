import * as tf from '@tensorflow/tfjs';
import { at } from '../util/at.js';
import { Prng } from './prng.js';

/**
 * Overwrites every weight of a model from a seeded PRNG (TF.js initializers are not seeded by default):
 * kernels Glorot-uniform, BatchNorm gamma and moving variance 1, everything else 0. Makes random-init runs
 * reproducible.
 */
export function seedModelWeights(model: tf.LayersModel, seed: number): void {
  const rng = new Prng(seed);
  for (const layer of model.layers) {
    const weights = layer.weights;
    if (weights.length === 0) continue;
    const values = tf.tidy(() =>
      weights.map((w) => initialValue(w.originalName ?? w.name, w.shape as number[], rng)),
    );
    layer.setWeights(values);
    tf.dispose(values);
  }
}

function initialValue(name: string, shape: number[], rng: Prng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (/(kernel|embeddings)$/.test(name)) {
    const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const fanIn = at(shape, shape.length >= 2 ? shape.length - 2 : 0) * receptive;
    const fanOut = (shape[shape.length - 1] ?? 1) * receptive;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    return tf.tensor(rng.uniform(size, -limit, limit), shape);
  }
  if (/(gamma|moving_variance)$/.test(name)) return tf.ones(shape);
  return tf.zeros(shape);
}
