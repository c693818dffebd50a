// Importing this module registers every lesionlab custom layer with tf.serialization.
export { InputNormalization, type InputNormalizationConfig } from './input-normalization.js';
export { LayerScale, type LayerScaleConfig } from './layer-scale.js';
export { ScaledResidual, type ScaledResidualConfig } from './scaled-residual.js';
export { StochasticDepth, type StochasticDepthConfig } from './stochastic-depth.js';

/** Class names of the custom layers, exactly as they appear in saved model topologies. */
export const CUSTOM_LAYER_CLASS_NAMES = [
  'InputNormalization',
  'ScaledResidual',
  'LayerScale',
  'StochasticDepth',
] as const;
