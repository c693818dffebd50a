// The model zoo: backbone registry, custom layers, head, weight matching (platform-neutral).
export { type BuildOptions, truncateModel } from './backbones/common.js';
export { fastDenseOnFeatureMaps } from './backbones/convnext.js';
export {
  buildClassifier,
  buildHead,
  copyHeadWeights,
  HEAD_LAYERS,
  type HeadOptions,
  keepFrozenBatchNormInInference,
  setTrainableTop,
} from './head.js';
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
