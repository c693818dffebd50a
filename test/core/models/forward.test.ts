import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BACKBONE_NAMES, BACKBONES, getBackbone } from '../../../src/core/models/registry.js';

// The two big networks cost seconds per pass on tfjs-cpu: they run once each in forward-heavy.test.ts.
const HEAVY = new Set(['inception_resnet_v2', 'convnext_small']);

describe.each(BACKBONE_NAMES.filter((n) => !HEAVY.has(n)))('backbone %s forward pass (32 px)', (name) => {
  it('runs on 0..255 input, gives finite features, leaks nothing, frees everything on dispose', () => {
    const baseline = tf.memory().numTensors;
    const model = BACKBONES[name].build({ inputSize: 32 });
    const x = tf.randomUniform([2, 32, 32, 3], 0, 255);
    const run = () => tf.tidy(() => (model.predict(x) as tf.Tensor).arraySync() as number[][][][]);
    const y = run();
    const afterFirst = tf.memory().numTensors;
    run();
    expect(tf.memory().numTensors).toBe(afterFirst);
    expect(y.length).toBe(2);
    expect(y[0]![0]![0]!.length).toBe(BACKBONES[name].featureWidth);
    const flat = y.flat(3);
    expect(flat.every(Number.isFinite)).toBe(true);
    expect(Math.max(...flat) - Math.min(...flat)).toBeGreaterThan(0);
    x.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(baseline + 8); // tfjs keeps a few cached scalars
  });
});

describe('build({ outputLayer })', () => {
  it('cuts MobileNet v1 after conv_pw_12_relu and disposes the layers that fell off', () => {
    const full = getBackbone('mobilenet_v1').build({ inputSize: 64 });
    const fullParams = full.countParams();
    full.dispose();
    const before = tf.memory().numTensors;
    const cut = getBackbone('mobilenet_v1').build({ inputSize: 64, outputLayer: 'conv_pw_12_relu' });
    expect(cut.layers.at(-1)!.name).toBe('conv_pw_12_relu');
    expect(cut.outputs[0]!.shape).toEqual([null, 2, 2, 1024]);
    // conv_dw_13 (3*3*1024) + conv_pw_13 (1024*1024) + two BN (4*1024 each) fell off
    expect(fullParams - cut.countParams()).toBe(9 * 1024 + 1024 * 1024 + 8 * 1024);
    expect(tf.memory().numTensors - before).toBe(cut.weights.length);
    cut.dispose();
  });

  it('rejects an unknown layer name', () => {
    expect(() => getBackbone('mobilenet_v2').build({ inputSize: 32, outputLayer: 'nope' })).toThrow(
      /no layer named "nope" to cut at/,
    );
  });

  it('rejects an input smaller than the Keras minimum', () => {
    expect(() => getBackbone('inception_resnet_v2').build({ inputSize: 64 })).toThrow(/integer >= 75/);
  });
});
