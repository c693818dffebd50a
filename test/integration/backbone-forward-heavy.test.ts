import { describe, it } from 'vitest';
import { BACKBONES } from '../../src/core/models/registry.js';
import { expectInferenceFeatures } from '../support/backbone-forward.js';

// InceptionResNetV2 and ConvNeXt-Small cost seconds to build and run on tfjs-cpu, so they run here, at a
// small size (the tensor-leak check of the forward pass runs on the light backbones in test/core/models/).
describe.each([
  ['inception_resnet_v2', 75],
  ['convnext_small', 32],
] as const)('backbone %s forward pass at %i px', (name, size) => {
  it('gives per-image features of featureWidth channels that vary with the image', () => {
    const model = BACKBONES[name].build({ inputSize: size });
    expectInferenceFeatures(model, size, BACKBONES[name].featureWidth);
    model.dispose();
  });
});
