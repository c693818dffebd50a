import * as tf from '@tensorflow/tfjs';
import { InputNormalization } from '../../src/core/models/layers/index.js';
import { MINUS_ONE_TO_ONE } from '../../src/core/preprocess/spec.js';
import { seedModelWeights } from '../../src/core/train/seed-weights.js';

/** A tiny seeded conv backbone: [N, size, size, 3] 0..255 → [N, size/4, size/4, 8] feature map. */
export function tinyBackbone(size = 16, seed = 5): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' });
  let x = new InputNormalization({
    mean: [...MINUS_ONE_TO_ONE.mean],
    std: [...MINUS_ONE_TO_ONE.std],
    name: 'input_normalization',
  }).apply(input) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'conv_a' })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'conv_b' })
    .apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x, name: 'tiny' });
  seedModelWeights(model, seed);
  return model;
}
