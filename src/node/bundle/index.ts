export { type DensityRuleOptions, measureDensityRule } from './density.js';
export { EXPORT_FORMATS, type ExportFormat, exportModelBundle } from './export.js';
export {
  BUNDLE_META_FILE,
  type ModelBundle,
  parseBundleMeta,
  readModelBundle,
  resolveBundleDir,
} from './read.js';
export { loadLayersModelFromDir, saveLayersModelToDir } from './tfjs-files.js';
export { type WriteModelBundleArgs, writeModelBundle } from './write.js';
