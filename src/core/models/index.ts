// The model zoo: backbone registry, custom layers, freezing, weight matching (platform-neutral); heads are in core/train/head.ts.
export { type BuildOptions, truncateModel } from './backbones/common.js';
export { fastDenseOnFeatureMaps } from './backbones/convnext.js';
export { keepFrozenBatchNormInInference, setTrainableTop } from './freeze.js';
export {
  CUSTOM_LAYER_CLASS_NAMES,
  InputNormalization,
  LayerScale,
  ScaledResidual,
  StochasticDepth,
} from './layers/index.js';
export {
  BACKBONE_NAMES,
  BACKBONES,
  type BackboneBlock,
  type BackboneName,
  type BackboneSpec,
  getBackbone,
  isBackboneName,
  type WeightFile,
} from './registry.js';
export { lastCompleteBlockBefore } from './truncate.js';
export {
  type AssignOptions,
  type AssignReport,
  assignWeights,
  type MatchMode,
  type SourceWeight,
} from './weight-assign.js';
export { SKIPPED_SOURCE_LAYERS, WEIGHT_RESHAPES } from './weight-mapping.js';
