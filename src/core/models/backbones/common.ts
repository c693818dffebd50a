import * as tf from '@tensorflow/tfjs';
import { expected, shown } from '../../errors.js';
import type { Normalization } from '../../preprocess/spec.js';
import { InputNormalization } from '../layers/index.js';

/** Options of every backbone builder. */
export interface BuildOptions {
  /** Square input side in pixels; default: the backbone's native size. Weights fit any size. */
  readonly inputSize?: number;
  /** Cut the network after this layer (e.g. `conv_pw_12_relu`); its output becomes the model output. */
  readonly outputLayer?: string;
}

/** A symbolic tensor flowing through a functional model under construction. */
export type Sym = tf.SymbolicTensor;

/** Applies `layer` to one or more symbolic tensors and returns the single output. */
export function apply(layer: tf.layers.Layer, x: Sym | Sym[]): Sym {
  return layer.apply(x) as Sym;
}

/** The image input ([N, size, size, 3], float32 RGB in 0..255) followed by `InputNormalization`. */
export function normalizedInput(size: number, norm: Normalization, name = 'input_normalization'): [Sym, Sym] {
  const input = tf.input({ shape: [size, size, 3], name: 'input_1', dtype: 'float32' });
  const layer = new InputNormalization({ mean: [...norm.mean], std: [...norm.std], name });
  return [input, apply(layer, input)];
}

/** Keras 2 style automatic names (`conv2d_1`, `conv2d_2`, ...), counted per model build. */
export function autoNamer(): (prefix: string) => string {
  const counts = new Map<string, number>();
  return (prefix) => {
    const next = (counts.get(prefix) ?? 0) + 1;
    counts.set(prefix, next);
    return `${prefix}_${next}`;
  };
}

/** Spatial size of a symbolic NHWC tensor ([height, width]). */
export function spatial(x: Sym): [number, number] {
  return [x.shape[1] as number, x.shape[2] as number];
}

/** Wraps input/output into a model, cut at `outputLayer` when given (see {@link truncateModel}). */
export function finishModel(input: Sym, output: Sym, name: string, outputLayer?: string): tf.LayersModel {
  const full = tf.model({ inputs: input, outputs: output, name });
  return outputLayer === undefined ? full : truncateModel(full, outputLayer);
}

/**
 * A model whose output is layer `layerName` of `model`; the layers that fall off are disposed, so the
 * result owns everything that is left and `model` must not be used any more.
 */
export function truncateModel(model: tf.LayersModel, layerName: string): tf.LayersModel {
  const cut = model.layers.find((l) => l.name === layerName);
  if (cut === undefined) {
    const hint = model.layers.slice(-3).map((l) => l.name);
    throw expected({
      what: `a layer name of ${model.name} to cut at (${model.layers.length} layers, last ones: ${hint.join(', ')})`,
      where: model.name,
      received: shown(layerName),
      fix: 'use a layer name from model.layers',
      code: 'E_UNKNOWN_MODEL',
    });
  }
  const truncated = tf.model({ inputs: model.inputs, outputs: cut.output as Sym, name: model.name });
  const kept = new Set(truncated.layers);
  for (const layer of model.layers) if (!kept.has(layer)) layer.dispose();
  return truncated;
}

/** Checks an input size against a backbone's minimum (Keras's `min_size`). */
export function resolveInputSize(backbone: string, native: number, min: number, size?: number): number {
  const s = size ?? native;
  if (!Number.isInteger(s) || s < min) {
    throw expected({
      what: `an integer input size >= ${min}`,
      where: `the backbone ${backbone}`,
      received: shown(s),
      fix: `e.g. its native size ${native}`,
      code: 'E_CONFIG',
    });
  }
  return s;
}
