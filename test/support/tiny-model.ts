import * as tf from '@tensorflow/tfjs';
import type { Normalization, PreprocessSpec } from '../../src/core/preprocess/spec.js';

/** Preprocessing of the tiny test model: 16x16, stretched. */
export const TINY_SPEC: PreprocessSpec = { width: 16, height: 16, resize: 'stretch', colorConstancy: false };

/** The tiny model feeds 0..255 pixels straight in; no normalisation in the graph. */
export const TINY_NORM: Normalization = { mean: [0, 0, 0], std: [1, 1, 1] };

/** conv(3x3, 4) -> GAP -> dense softmax over `classes`, input NHWC 16x16x3 0..255, seeded weights. */
export function buildTinyModel(classes = 7, seed = 1): tf.LayersModel {
  const model = tf.sequential({ name: 'tiny' });
  model.add(
    tf.layers.conv2d({
      inputShape: [TINY_SPEC.height, TINY_SPEC.width, 3],
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.randomNormal({ stddev: 0.01, seed }),
      name: 'conv',
    }),
  );
  model.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
  model.add(
    tf.layers.dense({
      units: classes,
      activation: 'softmax',
      kernelInitializer: tf.initializers.randomNormal({ stddev: 0.5, seed: seed + 1 }),
      biasInitializer: tf.initializers.randomNormal({ stddev: 0.1, seed: seed + 2 }),
      name: 'head',
    }),
  );
  return model;
}

/**
 * A small CNN for page tests: `size` x `size` input, two stride-2 convs (feature map size/4), GAP, dense
 * softmax; mean/std scaling inside the graph so 0..255 inputs give varied outputs.
 */
export function buildSmallCnn(size: number, classes = 7, seed = 3): tf.LayersModel {
  const init = (s: number, stddev: number) => tf.initializers.randomNormal({ stddev, seed: s });
  const input = tf.input({ shape: [size, size, 3] });
  const c1 = tf.layers
    .conv2d({
      filters: 8,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(seed, 0.003),
      name: 'c1',
    })
    .apply(input) as tf.SymbolicTensor;
  const c2 = tf.layers
    .conv2d({
      filters: 8,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(seed + 1, 0.15),
      name: 'c2',
    })
    .apply(c1) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(c2) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: classes, activation: 'softmax', kernelInitializer: init(seed + 2, 0.5), name: 'head' })
    .apply(gap) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'small_cnn' });
}
