import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  CUSTOM_LAYER_CLASS_NAMES,
  InputNormalization,
  LayerScale,
  ScaledResidual,
  StochasticDepth,
} from '../../../src/core/models/layers/index.js';
import { at } from '../../../src/core/util/at.js';

/** Saves a model to memory and loads it back (the same path as model.json + weights). */
async function roundTrip(model: tf.LayersModel): Promise<tf.LayersModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return tf.loadLayersModel(tf.io.fromMemory(artifacts!));
}

function oneLayerModel(layer: tf.layers.Layer, shape: number[]): tf.LayersModel {
  const input = tf.input({ shape });
  return tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
}

describe('custom layers', () => {
  it('have the class names the ONNX exporter expects', () => {
    expect([InputNormalization, ScaledResidual, LayerScale, StochasticDepth].map((c) => c.className)).toEqual(
      [...CUSTOM_LAYER_CLASS_NAMES],
    );
  });

  it('InputNormalization computes (x - mean) / std per channel and survives save/load', async () => {
    const model = oneLayerModel(new InputNormalization({ mean: [10, 20, 30], std: [2, 4, 5] }), [1, 1, 3]);
    const x = tf.tensor4d([[[[12, 28, 40]]]]);
    const run = () => tf.dispose(model.predict(x));
    run(); // warm-up: tfjs caches a few constants on first use
    const before = tf.memory().numTensors;
    run();
    run();
    expect(tf.memory().numTensors).toBe(before);
    const y = model.predict(x) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([1, 2, 2]);
    const loaded = await roundTrip(model);
    expect(at(loaded.layers, 1).getClassName()).toBe('InputNormalization');
    expect(at(loaded.layers, 1).getConfig()).toMatchObject({ mean: [10, 20, 30], std: [2, 4, 5] });
    const y2 = loaded.predict(x) as tf.Tensor;
    expect(Array.from(y2.dataSync())).toEqual([1, 2, 2]);
    tf.dispose([x, y, y2]);
    model.dispose();
    loaded.dispose();
  });

  it('ScaledResidual computes shortcut + scale * residual and survives save/load', async () => {
    const a = tf.input({ shape: [2] });
    const b = tf.input({ shape: [2] });
    const out = new ScaledResidual({ scale: 0.17 }).apply([a, b]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [a, b], outputs: out });
    const xs = [tf.tensor2d([[1, 2]]), tf.tensor2d([[10, -10]])];
    const y = model.predict(xs) as tf.Tensor;
    const loaded = await roundTrip(model);
    const y2 = loaded.predict(xs) as tf.Tensor;
    for (const t of [y, y2]) {
      const [p, q] = Array.from(t.dataSync());
      expect(p).toBeCloseTo(2.7, 5);
      expect(q).toBeCloseTo(0.3, 5);
    }
    expect(loaded.layers.at(-1)!.getConfig()).toMatchObject({ scale: 0.17 });
    tf.dispose([...xs, y, y2]);
    model.dispose();
    loaded.dispose();
  });

  it('LayerScale has one weight gamma [C] initialised to initValue, multiplies, survives save/load', async () => {
    const layer = new LayerScale({ initValue: 0.5, projectionDim: 3, name: 'ls' });
    const model = oneLayerModel(layer, [2, 3]);
    expect(layer.weights.map((w) => [w.originalName, w.shape])).toEqual([['ls/gamma', [3]]]);
    expect(model.countParams()).toBe(3);
    layer.setWeights([tf.tensor1d([1, 2, 3])]);
    const x = tf.ones([1, 2, 3]);
    const y = model.predict(x) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 1, 2, 3]);
    const loaded = await roundTrip(model);
    const y2 = loaded.predict(x) as tf.Tensor;
    expect(Array.from(y2.dataSync())).toEqual([1, 2, 3, 1, 2, 3]);
    expect(at(loaded.layers, 1).getConfig()).toMatchObject({ initValue: 0.5, projectionDim: 3 });
    tf.dispose([x, y, y2]);
    model.dispose();
    loaded.dispose();
  });

  it('LayerScale rejects a channel count other than projectionDim', () => {
    expect(() => oneLayerModel(new LayerScale({ initValue: 1, projectionDim: 4 }), [3])).toThrow(
      /expected 4/,
    );
  });

  it('StochasticDepth is the identity at inference, drops whole samples in training, survives save/load', async () => {
    const layer = new StochasticDepth({ rate: 0.5 });
    const model = oneLayerModel(layer, [4]);
    const x = tf.ones([64, 4]);
    const y = model.predict(x) as tf.Tensor;
    expect(Array.from(y.dataSync()).every((v) => v === 1)).toBe(true);
    const train = layer.apply(x, { training: true }) as tf.Tensor;
    const rows = (await train.array()) as number[][];
    expect(rows.every((r) => r.every((v) => v === r[0]) && (r[0] === 0 || r[0] === 2))).toBe(true);
    expect(rows.some((r) => r[0] === 0)).toBe(true);
    const loaded = await roundTrip(model);
    expect(at(loaded.layers, 1).getConfig()).toMatchObject({ rate: 0.5 });
    tf.dispose([x, y, train]);
    model.dispose();
    loaded.dispose();
  });
});
