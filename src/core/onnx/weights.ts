import type * as tf from '@tensorflow/tfjs';
import { expected } from '../errors.js';
import { at } from '../util/at.js';

/** A copy of one layer weight: its shape and float32 values. */
export interface WeightArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * A layer's weights by short name (`kernel`, `bias`, `gamma`, `moving_mean`, `depthwise_kernel`, ...):
 * the last path segment of each variable's original name, without a uniquifying `_N` suffix.
 */
export function layerWeights(layer: tf.layers.Layer): Map<string, WeightArray> {
  const out = new Map<string, WeightArray>();
  for (const v of layer.weights) {
    const path = v.originalName ?? v.name;
    const short = path.slice(path.lastIndexOf('/') + 1).replace(/_\d+$/, '');
    const data = Float32Array.from(v.read().dataSync() as Float32Array);
    out.set(short, { shape: [...v.shape] as number[], data });
  }
  return out;
}

/** The weight `name` of `layer`, or an E_ONNX error naming what the layer has. */
export function requireWeight(weights: Map<string, WeightArray>, name: string, layer: string): WeightArray {
  const w = weights.get(name);
  if (w) return w;
  throw expected({
    what: `a weight "${name}"`,
    where: `the layer "${layer}" to export`,
    received: `only ${[...weights.keys()].join(', ') || 'no weights'}`,
    fix: 'build the layer (call the model once) before exporting it',
    code: 'E_ONNX',
  });
}

/** The [kh, kw, in, out] dims of a rank-4 kernel, or an E_ONNX error naming the shape found. */
export function kernelDims(kernel: WeightArray, layer: string): [number, number, number, number] {
  const [kh, kw, a, b] = kernel.shape;
  if (
    kernel.shape.length !== 4 ||
    kh === undefined ||
    kw === undefined ||
    a === undefined ||
    b === undefined
  ) {
    throw expected({
      what: 'a rank-4 kernel [kh, kw, in, out]',
      where: `the layer "${layer}" to export`,
      received: `[${kernel.shape.join(', ')}]`,
      fix: 'export a model whose convolutions have 4D kernels',
      code: 'E_ONNX',
    });
  }
  return [kh, kw, a, b];
}

/** Row-major transpose of `data` with `shape` by `perm` (like tf.transpose); returns [data, shape]. */
export function permute(
  data: Float32Array,
  shape: readonly number[],
  perm: readonly number[],
): [Float32Array, number[]] {
  const rank = shape.length;
  const outShape = perm.map((p) => at(shape, p));
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = at(inStrides, i + 1) * at(shape, i + 1);
  const strides = perm.map((p) => at(inStrides, p));
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  // Hot loop (every weight value): d < rank, the length of idx, strides and outShape; src stays in data.
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += strides[d]!;
      if (idx[d]! < outShape[d]!) break;
      src -= strides[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
  return [out, outShape];
}
