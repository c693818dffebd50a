// Node adapters for weights: Keras .h5 (h5wasm), TF.js layers format, cached downloads, one-call loader.
export { type DownloadOptions, downloadFile, hashFile } from '../net/download.js';
export {
  cachedBackboneWeights,
  defaultWeightsCacheDir,
  type EnsureWeightsOptions,
  ensureBackboneWeights,
} from './cache.js';
export { type KerasH5LoadOptions, loadKerasH5Weights, readKerasH5Weights } from './h5.js';
export { type H5Layer, writeKerasH5, writeKerasH5Weights } from './h5-write.js';
export {
  type FoundWeights,
  findBackboneWeights,
  loadPretrainedBackbone,
  missingWeightsError,
  PACKAGE_ROOT,
  type PretrainedBackbone,
  type PretrainedOptions,
  randomPretrained,
} from './pretrained.js';
export {
  loadTfjsLayersWeights,
  type MissingWeight,
  readTfjsLayersWeights,
  type TfjsLayersWeights,
  type TfjsLoadOptions,
} from './tfjs-layers.js';
