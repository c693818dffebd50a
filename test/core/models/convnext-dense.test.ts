import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { fastDenseOnFeatureMaps } from '../../../src/core/models/backbones/convnext.js';
import { at } from '../../../src/core/util/at.js';

function denseModel(fast: boolean): tf.LayersModel {
  const input = tf.input({ shape: [3, 3, 4] });
  const dense = tf.layers.dense({
    units: 5,
    name: 'pw',
    kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
  });
  const layer = fast ? fastDenseOnFeatureMaps(dense) : dense;
  return tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
}

describe('fastDenseOnFeatureMaps', () => {
  it('computes exactly what Dense does on 4D input, keeps class/config, trains the same', () => {
    const [slow, fast] = [denseModel(false), denseModel(true)];
    fast.setWeights(slow.getWeights());
    expect(at(fast.layers, 1).getClassName()).toBe('Dense');
    expect(at(fast.layers, 1).getConfig()).toEqual(at(slow.layers, 1).getConfig());
    const x = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 4);
    const outs = tf.tidy(() => [slow, fast].map((m) => Array.from((m.predict(x) as tf.Tensor).dataSync())));
    const [a, b] = [at(outs, 0), at(outs, 1)];
    for (const [i, v] of a.entries()) expect(at(b, i)).toBeCloseTo(v, 5);
    const grads = [slow, fast].map((m) =>
      tf.tidy(() => {
        const { grads: g } = tf.variableGrads(
          () => tf.sum(tf.square(m.apply(x) as tf.Tensor)) as tf.Scalar,
          m.trainableWeights.map((w) => w.read() as tf.Variable),
        );
        return Object.values(g).map((t) => Array.from(t.dataSync()));
      }),
    );
    const [slowGrads, fastGrads] = [at(grads, 0).flat(), at(grads, 1).flat()];
    for (const [i, v] of slowGrads.entries()) expect(at(fastGrads, i)).toBeCloseTo(v, 4);
    expect(fastGrads.some((v) => v !== 0)).toBe(true);
    const before = tf.memory().numTensors;
    tf.dispose(fast.predict(x));
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    slow.dispose();
    fast.dispose();
  });
});
