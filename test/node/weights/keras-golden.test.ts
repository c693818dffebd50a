import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { LayerScale, ScaledResidual } from '../../../src/core/models/layers/index.js';
import { at } from '../../../src/core/util/at.js';
import { loadKerasH5Weights, readKerasH5Weights } from '../../../src/node/weights/h5.js';

/** Files written by real Keras (tf-keras 2.21 / Keras 3) with scripts/golden/make_keras_fixtures.py tiny. */
const GOLDEN = join(import.meta.dirname, '..', '..', 'golden', 'keras');

interface TinyGolden {
  readonly input_shape: number[];
  readonly output_shape: number[];
  readonly input_values: number[];
  readonly output_values: number[];
}

const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
  layer.apply(x) as tf.SymbolicTensor;

/** The TF.js twin of `tiny_model` in the generator: same layer names, order and settings. */
function buildTwin(): tf.LayersModel {
  const L = tf.layers;
  const input = tf.input({ shape: [16, 16, 3], name: 'input_1' });
  // Keras nests these two in a Sequential `stem` (one group in the file), as ConvNeXt's stem.
  let x = apply(L.conv2d({ filters: 4, kernelSize: 1, name: 'stem_conv' }), input);
  x = apply(L.layerNormalization({ epsilon: 1e-6, name: 'stem_ln' }), x);
  x = apply(
    L.zeroPadding2d({
      padding: [
        [0, 1],
        [0, 1],
      ],
      name: 'pad',
    }),
    x,
  );
  x = apply(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, useBias: false, name: 'conv1' }), x);
  x = apply(L.batchNormalization({ epsilon: 1e-3, name: 'bn1' }), x);
  x = apply(L.reLU({ maxValue: 6, name: 'relu1' }), x);
  let y = apply(L.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'dw' }), x);
  y = apply(L.batchNormalization({ epsilon: 1.001e-5, name: 'dw_bn' }), y);
  y = apply(L.activation({ activation: 'relu', name: 'dw_relu' }), y);
  x = apply(L.add({ name: 'add' }), [x, y]);
  const a = apply(L.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'maxpool' }), x);
  const b = apply(L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'avgpool' }), x);
  x = apply(L.concatenate({ name: 'concat' }), [a, b]);
  x = apply(L.conv2d({ filters: 16, kernelSize: 1, name: 'proj' }), x);
  const s = apply(L.conv2d({ filters: 16, kernelSize: 1, name: 'res_up' }), x);
  x = apply(new ScaledResidual({ scale: 0.17, name: 'scaled' }), [x, s]);
  x = apply(L.activation({ activation: 'relu', name: 'scaled_ac' }), x);
  let g = apply(L.depthwiseConv2d({ kernelSize: 7, padding: 'same', name: 'grouped' }), x);
  g = apply(L.layerNormalization({ epsilon: 1e-6, name: 'ln' }), g);
  g = apply(L.dense({ units: 32, name: 'pw1' }), g);
  g = apply(L.activation({ activation: 'gelu', name: 'gelu' }), g);
  g = apply(L.dense({ units: 16, name: 'pw2' }), g);
  g = apply(new LayerScale({ initValue: 1e-6, projectionDim: 16, name: 'layer_scale' }), g);
  x = apply(L.add({ name: 'add2' }), [x, g]);
  return tf.model({ inputs: input, outputs: x, name: 'tiny' });
}

async function golden(): Promise<TinyGolden> {
  return JSON.parse(await readFile(join(GOLDEN, 'tiny.json'), 'utf8')) as TinyGolden;
}

/** max |ours − Keras| / max |Keras|. */
function relativeError(model: tf.LayersModel, g: TinyGolden): number {
  const ours = tf.tidy(() => {
    const x = tf.tensor(g.input_values, g.input_shape);
    return (model.predict(x) as tf.Tensor).dataSync();
  });
  const scale = Math.max(...g.output_values.map(Math.abs));
  return g.output_values.reduce((m, v, i) => Math.max(m, Math.abs(v - at(ours, i))), 0) / scale;
}

describe('Keras-written weight files (tiny model with every layer type the registry uses)', () => {
  it.each([
    ['tiny.weights-keras2.h5', 'save_weights, names as str, empty float64 weight_names'],
    ['tiny.bytenames-keras2.h5', 'names as fixed-length bytes, like the official files'],
    ['tiny.model-keras2.h5', 'full model.save: weights under model_weights'],
  ])('%s (%s) loads by name and reproduces Keras’s output', async (file) => {
    const g = await golden();
    const model = buildTwin();
    const before = relativeError(model, g);
    const report = await loadKerasH5Weights(model, join(GOLDEN, file));
    expect(report.mode).toBe('name');
    expect(report.assigned).toBe(model.weights.length);
    expect(before).toBeGreaterThan(0.1);
    expect(relativeError(model, g)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('reads layers that own no weights (input, padding, activations) as empty, not as names', async () => {
    const weights = await readKerasH5Weights(join(GOLDEN, 'tiny.weights-keras2.h5'));
    const layers = new Set(weights.map((w) => w.layer));
    for (const empty of ['input_1', 'pad', 'relu1', 'add', 'concat', 'scaled', 'gelu']) {
      expect(layers.has(empty)).toBe(false);
    }
    expect(weights.filter((w) => w.layer === 'bn1').map((w) => w.name)).toEqual([
      'gamma',
      'beta',
      'moving_mean',
      'moving_variance',
    ]);
  });

  it('names the Keras 3 .weights.h5 layout and what it expects instead', async () => {
    await expect(readKerasH5Weights(join(GOLDEN, 'tiny.keras3.weights.h5'))).rejects.toThrow(
      /^expected a Keras 2 HDF5 weights file \(root attribute "layer_names".* but received a Keras 3 "\.weights\.h5" file \(groups layers\/<name>\/vars\/<i>, no variable names\); use the official \*_notop\.h5 file/,
    );
  });

  it('by position, refuses a file whose weight order differs instead of swapping tensors', async () => {
    const model = buildTwin();
    const weights = await readKerasH5Weights(join(GOLDEN, 'tiny.weights-keras2.h5'));
    const renamed = weights.map((w) => ({ ...w, layer: `keras_${w.layer}` }));
    const bn = renamed.findIndex((w) => w.layer === 'keras_bn1' && w.name === 'gamma');
    const swapped = [...renamed];
    [swapped[bn], swapped[bn + 1]] = [at(swapped, bn + 1), at(swapped, bn)];
    const { assignWeights } = await import('../../../src/core/models/weight-assign.js');
    expect(assignWeights(model, renamed, { source: 'renamed' }).mode).toBe('order');
    expect(() => assignWeights(model, swapped, { source: 'swapped' })).toThrow(
      /^expected the model's weight order \(by position, bn1\/gamma of BatchNormalization\) for swapped but received the weight keras_bn1\/beta there; wrong backbone or file\?$/,
    );
    model.dispose();
  });
});
