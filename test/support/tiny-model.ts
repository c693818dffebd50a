import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BundleMeta } from '../../src/core/bundle/meta.js';
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import type { Normalization, PreprocessSpec } from '../../src/core/preprocess/spec.js';
import { type WriteModelBundleArgs, writeModelBundle } from '../../src/node/bundle/write.js';

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
  /** A 3x3, stride-2, 8-filter relu conv with seeded normal kernels. */
  const conv = (name: string, s: number, stddev: number, x: tf.SymbolicTensor) =>
    tf.layers
      .conv2d({
        filters: 8,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(s, stddev),
        name,
      })
      .apply(x) as tf.SymbolicTensor;
  const c1 = conv('c1', seed, 0.003, input);
  const c2 = conv('c2', seed + 1, 0.15, c1);
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(c2) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: classes, activation: 'softmax', kernelInitializer: init(seed + 2, 0.5), name: 'head' })
    .apply(gap) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'small_cnn' });
}

/** Writes the tiny model as a bundle in `dir` (named `tiny`, HAM10000's classes); `extra` overrides fields. */
export async function writeTinyBundle(dir: string, extra: Partial<WriteModelBundleArgs> = {}): Promise<void> {
  const model = buildTinyModel();
  await writeModelBundle(dir, {
    model,
    name: 'tiny',
    backbone: 'tiny',
    classes: HAM10000_CLASSES,
    preprocess: TINY_SPEC,
    normalization: TINY_NORM,
    ...extra,
  });
  model.dispose();
}

/**
 * Writes a tiny bundle whose model has `outputs` classes (HAM10000's, then `extra7`, ...), then rewrites its
 * bundle.json with `edit`: a bundle whose bundle.json and model.onnx disagree, as writeModelBundle never writes.
 */
export async function writeEditedTinyBundle(
  dir: string,
  outputs: number,
  edit: (meta: BundleMeta) => BundleMeta,
): Promise<void> {
  const classes = Array.from({ length: outputs }, (_, i) => HAM10000_CLASSES[i] ?? `extra${i}`);
  const model = buildTinyModel(outputs);
  await writeModelBundle(dir, {
    model,
    name: 'tiny',
    backbone: 'tiny',
    classes,
    preprocess: TINY_SPEC,
    normalization: TINY_NORM,
    tfjs: false,
  });
  model.dispose();
  const path = join(dir, 'bundle.json');
  const meta = JSON.parse(await readFile(path, 'utf8')) as BundleMeta;
  await writeFile(path, JSON.stringify(edit(meta)));
}

/** Writes `buildSmallCnn(size)` as a bundle in `dir` (stretch to size x size, 0..255 in); `extra` overrides fields. */
export async function writeSmallCnnBundle(
  dir: string,
  size: number,
  extra: Partial<WriteModelBundleArgs> = {},
): Promise<void> {
  const model = buildSmallCnn(size);
  await writeModelBundle(dir, {
    model,
    name: 'small-cnn',
    backbone: 'small_cnn',
    classes: HAM10000_CLASSES,
    preprocess: { width: size, height: size, resize: 'stretch', colorConstancy: false },
    normalization: { mean: [0, 0, 0], std: [1, 1, 1] },
    ...extra,
  });
  model.dispose();
}
