import * as tf from '@tensorflow/tfjs';
import { exportOnnx, type OnnxExportOptions } from '../../src/core/onnx/export.js';
import { at } from '../../src/core/util/at.js';
import { createOnnxSession, type OnnxOutput } from '../../src/node/onnx/session.js';

/** Deterministic pseudo-random floats in [lo, hi). */
export function randomData(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

/** Gives every weight of `model` fresh random values (BatchNorm variances positive). */
export function randomizeWeights(model: tf.LayersModel, seed = 1): void {
  const weights = model.weights;
  const values = weights.map((w, i) => {
    const n = w.shape.reduce((a: number, b) => a * (b as number), 1);
    const variance = /moving_variance/.test(w.originalName ?? w.name);
    const data = randomData(n, seed * 7919 + i, variance ? 0.5 : -0.5, variance ? 1.5 : 0.5);
    return tf.tensor(data, w.shape as number[]);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** TF.js and ONNX Runtime outputs of `model` on the same input, plus the exported output names. */
export async function runBoth(
  model: tf.LayersModel,
  input: Float32Array,
  dims: number[],
  options: OnnxExportOptions = {},
): Promise<{ tfjs: Float32Array[]; ort: Record<string, OnnxOutput>; outputs: readonly string[] }> {
  const exported = exportOnnx(model, options);
  const session = await createOnnxSession(exported.bytes, { providers: ['cpu'], threads: 1 });
  const ort = await session.run(input, dims);
  await session.dispose();
  const x = tf.tensor(input, dims);
  const y = model.predict(x) as tf.Tensor | tf.Tensor[];
  const ys = Array.isArray(y) ? y : [y];
  const tfjs = ys.map((t) => t.dataSync() as Float32Array);
  tf.dispose([x, ...ys]);
  return { tfjs, ort, outputs: exported.outputs };
}

/** Largest absolute difference of two equally long arrays (Infinity when lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(at(a, i) - at(b, i)));
  return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
}

/**
 * Random weights that keep activations O(1) through deep networks, so that parity is tested on
 * real-sized numbers: He-uniform kernels, biases/betas/means in [-0.2, 0.2], gammas in [0.5, 1] and
 * BatchNorm variances in [0.75, 1.5] (non-trivial statistics; a per-layer gain a little under 1 keeps
 * float32 rounding from being amplified layer after layer, as it would be with gains above 1).
 */
export function randomizeForParity(model: tf.LayersModel, seed = 1): void {
  const values = model.weights.map((w, i) => {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const short = (w.originalName ?? w.name).split('/').pop()!.replace(/_\d+$/, '');
    const s = seed * 7919 + i;
    let data: Float32Array;
    if (/kernel$/.test(short)) {
      const fanIn =
        short === 'depthwise_kernel' ? at(shape, 0) * at(shape, 1) : n / at(shape, shape.length - 1);
      const a = Math.sqrt(6 / fanIn);
      data = randomData(n, s, -a, a);
    } else if (short === 'gamma') data = randomData(n, s, 0.5, 1);
    else if (short === 'moving_variance') data = randomData(n, s, 0.75, 1.5);
    else data = randomData(n, s, -0.2, 0.2);
    return tf.tensor(data, shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}
