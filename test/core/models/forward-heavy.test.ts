import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BACKBONES } from '../../../src/core/models/registry.js';

// InceptionResNetV2 and ConvNeXt-Small cost seconds to build and run on tfjs-cpu: one small pass
// each (the tensor-leak check of the forward pass runs on the light backbones in forward.test.ts).
describe.each([
  ['inception_resnet_v2', 75],
  ['convnext_small', 32],
] as const)('backbone %s forward pass at %i px', (name, size) => {
  it('runs on 0..255 input and gives finite, non-constant features of featureWidth channels', () => {
    const model = BACKBONES[name].build({ inputSize: size });
    const x = tf.randomUniform([1, size, size, 3], 0, 255);
    const y = tf.tidy(() => (model.predict(x) as tf.Tensor).arraySync() as number[][][][]);
    expect(y[0]![0]![0]!.length).toBe(BACKBONES[name].featureWidth);
    const flat = y.flat(3);
    expect(flat.every(Number.isFinite)).toBe(true);
    expect(Math.max(...flat) - Math.min(...flat)).toBeGreaterThan(0);
    x.dispose();
    model.dispose();
  });
});
