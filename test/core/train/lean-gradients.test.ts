import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/core/data/prng.js';
import {
  LEAN_GRADIENT_KERNELS,
  useLeanGradients,
  useTfjsGradients,
} from '../../../src/core/train/lean-gradients.js';

/** Random values with exact zeros and exact clip boundaries mixed in (where the masks' edges lie). */
function values(n: number, seed: number, edges: readonly number[] = [0]): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, (_, i) =>
    edges.length > 0 && i % 5 === 0 ? edges[(i / 5) % edges.length]! : (rand() - 0.5) * 16,
  );
}

/** Gradients of `f` with respect to every input, as plain arrays (computed under whatever gradients are registered). */
function gradients(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: readonly tf.Tensor[]): Float32Array[] {
  return tf.tidy(() =>
    tf
      .grads(f)([...inputs])
      .map((g) => g.dataSync() as Float32Array),
  );
}

const x = tf.tensor4d(values(2 * 3 * 3 * 4, 1, [0, 6, -1, 2]), [2, 3, 3, 4]);
const dy = tf.tensor4d(values(2 * 3 * 3 * 4, 2, []), [2, 3, 3, 4]);
const mean = tf.tensor1d([0.5, -1, 2, 0]);
const variance = tf.tensor1d([1, 0.25, 4, 0.01]);
const offset = tf.tensor1d([0.1, 0.2, -0.3, 0]);
const scale = tf.tensor1d([1.5, -0.5, 2, 1]);
// each case weights its output by dy so that every element's gradient differs
const CASES: Record<string, { f: (...xs: tf.Tensor[]) => tf.Tensor; inputs: tf.Tensor[] }> = {
  relu: { f: (a) => tf.relu(a!).mul(dy).sum(), inputs: [x] },
  relu6: { f: (a) => tf.relu6(a!).mul(dy).sum(), inputs: [x] },
  clipByValue: { f: (a) => tf.clipByValue(a!, -1, 2).mul(dy).sum(), inputs: [x] },
  'ReLU(maxValue 6) layer': {
    f: (a) => (tf.layers.reLU({ maxValue: 6 }).apply(a!) as tf.Tensor).mul(dy).sum(),
    inputs: [x],
  },
  // (TF.js's tape cannot differentiate batchNorm without an offset or a scale at all: it records the missing input)
  'batchNorm, all five inputs': {
    f: (a, m, v, o, s) => tf.batchNorm(a!, m!, v!, o, s, 1e-3).mul(dy).sum(),
    inputs: [x, mean, variance, offset, scale],
  },
  'conv → BatchNorm → ReLU6, w.r.t. the kernel': {
    f: (k) => {
      const z = tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same');
      return tf
        .clipByValue(tf.relu(tf.batchNorm(z, mean, variance, offset, scale, 1e-3)), 0, 6)
        .mul(dy)
        .sum();
    },
    inputs: [tf.tensor4d(values(3 * 3 * 4 * 4, 3), [3, 3, 4, 4]).mul(0.1)],
  },
};

describe('useLeanGradients', () => {
  let reference: Record<string, Float32Array[]> = {};
  let stock: tf.GradConfig[] = [];
  beforeAll(() => {
    // TF.js's own gradients first (another file in this worker may have installed the lean ones)
    useTfjsGradients();
    stock = LEAN_GRADIENT_KERNELS.map((k) => tf.getGradient(k));
    reference = Object.fromEntries(
      Object.entries(CASES).map(([name, c]) => [name, gradients(c.f, c.inputs)]),
    );
    useLeanGradients();
  });
  afterAll(() => useLeanGradients());

  it('replaces the gradients of ReLU, ReLU6, ClipByValue and FusedBatchNorm, once, and puts them back', () => {
    const lean = LEAN_GRADIENT_KERNELS.map((k) => tf.getGradient(k));
    expect(LEAN_GRADIENT_KERNELS).toEqual(['Relu', 'Relu6', 'ClipByValue', 'FusedBatchNorm']);
    lean.forEach((config, i) => {
      expect(config).not.toBe(stock[i]);
    });
    useLeanGradients();
    expect(LEAN_GRADIENT_KERNELS.map((k) => tf.getGradient(k))).toEqual(lean);
    useTfjsGradients();
    expect(LEAN_GRADIENT_KERNELS.map((k) => tf.getGradient(k))).toEqual(stock);
    useLeanGradients();
    expect(LEAN_GRADIENT_KERNELS.map((k) => tf.getGradient(k))).toEqual(lean);
  });

  it.each(Object.keys(CASES))('%s: the same gradients as TF.js', (name) => {
    const c = CASES[name]!;
    const lean = gradients(c.f, c.inputs);
    const expected = reference[name]!;
    expect(lean.length).toBe(expected.length);
    lean.forEach((g, i) => {
      const want = expected[i]!;
      expect(g.length).toBe(want.length);
      const scale = Math.max(...want.map(Math.abs), 1);
      const worst = Math.max(...g.map((v, j) => Math.abs(v - want[j]!)));
      expect(worst / scale).toBeLessThan(1e-6);
      // not all zero: the masks let gradient through somewhere (and block it elsewhere for the activations)
      expect(g.some((v) => v !== 0)).toBe(true);
    });
  });

  it('keeps no tensors: a second round of every case leaves tf.memory().numTensors as the first did', () => {
    const round = () => {
      for (const c of Object.values(CASES)) gradients(c.f, c.inputs);
      return tf.memory().numTensors;
    };
    const after = round();
    expect(round()).toBe(after);
  });

  it('blocks the gradient exactly where TF.js does: at and below 0 for ReLU, outside [min, max] for clipping', () => {
    const edge = tf.tensor1d([-1, 0, 1e-7, 5.999, 6, 6.001]);
    const [relu] = gradients((a) => tf.relu(a!).sum(), [edge]);
    const [relu6] = gradients((a) => tf.relu6(a!).sum(), [edge]);
    const [clip] = gradients((a) => tf.clipByValue(a!, 0, 6).sum(), [edge]);
    expect(Array.from(relu!)).toEqual([0, 0, 1, 1, 1, 1]);
    expect(Array.from(relu6!)).toEqual([0, 0, 1, 1, 1, 0]);
    expect(Array.from(clip!)).toEqual([0, 1, 1, 1, 1, 0]);
  });
});
