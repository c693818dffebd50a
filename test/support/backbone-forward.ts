import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { type BackboneName, getBackbone } from '../../src/core/models/registry.js';
import { presentBlocks, splitAtBlock } from '../../src/core/train/finetune.js';
import { at } from '../../src/core/util/at.js';

/** The backbones that take seconds per build and pass on tfjs-cpu: their tests live in test/integration/. */
export const FULL_SIZE_BACKBONES: ReadonlySet<BackboneName> = new Set([
  'inception_resnet_v2',
  'convnext_small',
]);

/** Two different seeded 0..255 images, `size` x `size`, and the first one mirrored: [a, b, flip(a)]. */
export function probeImages(size: number, seed = 7): tf.Tensor4D {
  return tf.tidy(() => {
    const ab = tf.randomUniform([2, size, size, 3], 0, 255, 'float32', seed) as tf.Tensor4D;
    const flipped = tf.reverse(ab.slice([0, 0, 0, 0], [1, size, size, 3]), 2);
    return tf.concat([ab, flipped]) as tf.Tensor4D;
  });
}

/** The backbone's feature maps of `x`, one flat array per image. */
export function featureRows(model: tf.LayersModel, x: tf.Tensor4D): number[][] {
  return tf.tidy(() => {
    const y = model.predict(x) as tf.Tensor;
    return y.reshape([at(y.shape, 0), -1]).arraySync() as number[][];
  });
}

const maxAbs = (xs: readonly number[]) => xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: readonly number[], b: readonly number[]) => maxAbs(a.map((v, i) => v - at(b, i)));

/**
 * What an inference-mode backbone must do on [a, b, flip(a)]: `featureWidth` channels, finite values that vary,
 * the same features for `a` alone as inside the batch (no batch statistics), and different features for `b`
 * and for the mirrored `a` than for `a`. Two forward passes; every tensor it makes is disposed.
 */
export function expectInferenceFeatures(model: tf.LayersModel, size: number, featureWidth: number): void {
  const x = probeImages(size);
  expect(at(model.outputs, 0).shape.at(-1)).toBe(featureWidth);
  const rows = featureRows(model, x);
  const [a, b, flippedA] = [at(rows, 0), at(rows, 1), at(rows, 2)];
  expect(a.every(Number.isFinite) && b.every(Number.isFinite)).toBe(true);
  const scale = maxAbs(a);
  expect(scale).toBeGreaterThan(0);
  expect(Math.max(...a) - Math.min(...a)).toBeGreaterThan(1e-3 * scale);
  const alone = x.slice([0, 0, 0, 0], [1, size, size, 3]);
  expect(maxDiff(at(featureRows(model, alone), 0), a)).toBeLessThan(1e-4 * scale);
  alone.dispose();
  expect(maxDiff(b, a)).toBeGreaterThan(1e-3 * scale);
  expect(maxDiff(flippedA, a)).toBeGreaterThan(1e-3 * scale);
  x.dispose();
}

/** Splitting a backbone below its top 1 and 2 blocks (as fine-tuning does) keeps the network's output shape. */
export function expectCleanTopSplits(name: BackboneName): void {
  const spec = getBackbone(name);
  const model = spec.build({ inputSize: spec.minInputSize });
  expect(presentBlocks(model, spec.blocks).length).toBeGreaterThan(2);
  for (const n of [1, 2]) {
    const split = splitAtBlock(model, spec.blocks, n);
    expect(at(split.tail.outputs, 0).shape).toEqual(at(model.outputs, 0).shape);
    split.tail.dispose();
  }
  model.dispose();
}
