import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { assignWeights, type SourceWeight, shortWeightName } from '../../../src/core/models/weight-assign.js';
import { shapeFits } from '../../../src/core/models/weight-mapping.js';
import { at } from '../../../src/core/util/at.js';

function tiny(): tf.LayersModel {
  const input = tf.input({ shape: [4, 4, 2] });
  let x = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: 'c' }).apply(input);
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: true, name: 'dw' }).apply(x);
  x = tf.layers.batchNormalization({ name: 'bn' }).apply(x);
  return tf.model({ inputs: input, outputs: x as tf.SymbolicTensor });
}

function sources(layerPrefix = ''): SourceWeight[] {
  const w = (layer: string, name: string, shape: number[], start: number): SourceWeight => ({
    layer: layerPrefix + layer,
    name,
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => start + i),
  });
  return [
    w('c', 'kernel', [1, 1, 2, 3], 0),
    w('c', 'bias', [3], 10),
    w('dw', 'depthwise_kernel', [3, 3, 1, 3], 100), // Keras grouped-conv layout
    w('dw', 'bias', [3], 200),
    w('bn', 'gamma', [3], 1),
    w('bn', 'beta', [3], 2),
    w('bn', 'moving_mean', [3], 3),
    w('bn', 'moving_variance', [3], 4),
  ];
}

describe('assignWeights', () => {
  it('matches by name, reshapes grouped-conv kernels for DepthwiseConv2D, writes the values', () => {
    const model = tiny();
    const report = assignWeights(model, sources(), { source: 'test' });
    expect(report).toEqual({ mode: 'name', assigned: 8, unused: [] });
    const dw = at(model.getLayer('dw').getWeights(), 0);
    expect(dw.shape).toEqual([3, 3, 3, 1]);
    expect(dw.dataSync()[5]).toBe(105);
    expect(Array.from(at(model.getLayer('bn').getWeights(), 3).dataSync())).toEqual([4, 5, 6]);
    model.dispose();
  });

  it('falls back to layer order when names differ (Keras auto-names)', () => {
    const model = tiny();
    expect(assignWeights(model, sources('other_'), { source: 'test' }).mode).toBe('order');
    expect(Array.from(at(model.getLayer('c').getWeights(), 1).dataSync())).toEqual([10, 11, 12]);
    model.dispose();
  });

  it('names the layer, expected and found shapes on a mismatch, and writes nothing', () => {
    const model = tiny();
    const bad = sources('x_');
    bad[1] = { ...at(bad, 1), shape: [4], data: new Float32Array(4) };
    const before = Array.from(at(model.getLayer('c').getWeights(), 0).dataSync());
    expect(() => assignWeights(model, bad, { source: 'w.h5' })).toThrow(
      'expected the shape [3] of bias in layer c (Conv2D) for the weight x_c/bias of w.h5 but received [4]; wrong backbone or file?',
    );
    expect(Array.from(at(model.getLayer('c').getWeights(), 0).dataSync())).toEqual(before);
    model.dispose();
  });

  it('reports count mismatches, and unused weights only when allowed', () => {
    const model = tiny();
    expect(() => assignWeights(model, sources('x_').slice(1), { source: 'w.h5' })).toThrow(
      "expected the model's 8 weights for w.h5 but received 7 weights in the file; is this file for this backbone (and without top)?",
    );
    const extra = [...sources(), { layer: 'head', name: 'kernel', shape: [1], data: new Float32Array(1) }];
    expect(() => assignWeights(model, extra, { source: 'w.h5' })).toThrow(
      'expected weights that each match a layer of the model for w.h5 but received 1 weights that match none (head/kernel); wrong file, or load into a truncated model with allowUnused',
    );
    expect(assignWeights(model, extra, { source: 'w.h5', allowUnused: true }).unused).toEqual([
      'head/kernel',
    ]);
    model.dispose();
  });

  it('skips the ConvNeXt prestem normalisation statistics', () => {
    const model = tiny();
    const withNorm = [
      { layer: 'convnext_small_prestem_normalization', name: 'mean', shape: [3], data: new Float32Array(3) },
      ...sources('x_'),
    ];
    expect(assignWeights(model, withNorm, { source: 'w.h5' }).assigned).toBe(8);
    model.dispose();
  });
});

describe('weight mapping helpers', () => {
  it('strips scopes and :0 suffixes', () => {
    expect(shortWeightName('conv1/conv/kernel:0')).toBe('kernel');
    expect(shortWeightName('gamma')).toBe('gamma');
  });

  it('allows only the documented reshape', () => {
    expect(shapeFits('DepthwiseConv2D', [7, 7, 1, 96], [7, 7, 96, 1])).toBe(true);
    expect(shapeFits('Conv2D', [7, 7, 1, 96], [7, 7, 96, 1])).toBe(false);
    expect(shapeFits('DepthwiseConv2D', [7, 7, 1, 96], [7, 7, 95, 1])).toBe(false);
  });
});
