/**
 * lesionlab's Node library: `import { loadDataset, trainRun, createClassifier } from 'lesionlab'`; the page's
 * classifier is `lesionlab/browser`.
 *
 * How this surface is chosen: it holds what a program needs for the tasks the CLI offers — load (or fetch) and
 * split a dataset, configure a run (the zod schemas are the config's types, defaults and validation), train,
 * evaluate and compute metrics on plain arrays, compare, load a model bundle and classify, serve — plus the
 * typed errors (`LesionlabError` with a stable `code`, switch on it, never on the message) and the facts those
 * calls take or return (labels, backbones, logger hooks). A name is here because a user task needs it, not
 * because a module has it: the building blocks behind these calls (trainer steps, layers, caches, decoders,
 * weight readers, the ONNX exporter, CLI helpers) stay internal, so they can change without a major version.
 * Code inside this repository (tests, benches, the page) imports such internals from their own modules.
 * The exports below are sorted by module path (biome): core/ (errors, labels, data, config, metrics), then the
 * Node adapters (node/: fetch and load data, train, evaluate, compare, bundles, classify), then serve/.
 */

export type { BundleMeta } from './core/bundle/meta.js';
export {
  applyConfigOverrides,
  DIHEDRAL_VIEWS,
  type DihedralView,
  parseTrainConfig,
  type TrainConfig,
  type TrainConfigInput,
  TrainConfigSchema,
} from './core/config/train-config.js';
export type {
  DataIssue,
  Dataset,
  DatasetFormat,
  ImageRecord,
  SplitAssignment,
  SplitName,
} from './core/data/records.js';
export { type KFoldOptions, kfoldByGroup, type SplitOptions, splitByGroup } from './core/data/split.js';
export {
  buildSplitFile,
  parseSplitFile,
  type SplitFile,
  SplitFileSchema,
  type SplitRecords,
  selectSplit,
} from './core/data/split-schema.js';
export { type DatasetSummary, formatSummary, summarizeDataset } from './core/data/summary.js';
export { isLesionlabError, LesionlabError, type LesionlabErrorCode } from './core/errors.js';
export { type BootstrapResult, bootstrapMetrics, type ConfidenceInterval } from './core/eval/bootstrap.js';
export { expectedCalibrationError } from './core/eval/calibration.js';
export type { ComparedModel, ComparisonData } from './core/eval/compare.js';
export { type McNemarResult, mcnemarTest } from './core/eval/mcnemar.js';
export {
  accuracy,
  balancedAccuracy,
  classificationReport,
  confusionMatrix,
  logLoss,
  topKAccuracy,
} from './core/eval/metrics.js';
export type { ReportData } from './core/eval/report-data.js';
export { oneVsRestRoc, rocAuc, rocCurve, sensitivityAtSpecificity } from './core/eval/roc.js';
export {
  computeEvaluationMetrics,
  type EvaluationInput,
  type EvaluationMetrics,
} from './core/eval/summary.js';
export { DX_NAMES, type DxCode, HAM10000_CLASSES, isDxCode } from './core/labels.js';
export { type Logger, type ProgressHook, silentLogger } from './core/logger.js';
export {
  BACKBONE_NAMES,
  BACKBONES,
  type BackboneName,
  type BackboneSpec,
  getBackbone,
} from './core/models/registry.js';
export {
  type AugmentConfig,
  type AugmentConfigInput,
  AugmentConfigSchema,
  DEFAULT_AUGMENT,
  IDENTITY_AUGMENT,
  parseAugmentConfig,
} from './core/preprocess/augment-config.js';
export type { Normalization, PreprocessSpec, ResizePolicy } from './core/preprocess/spec.js';
export { PreprocessSpecSchema, parsePreprocessSpec } from './core/preprocess/spec-schema.js';
// The TF.js backend a program may choose before training (native, wasm or cpu)
export { type BackendChoice, type BackendInfo, selectBackend } from './node/backend/backend.js';
export {
  EXPORT_FORMATS,
  type ExportFormat,
  exportModelBundle,
  type ModelBundle,
  readModelBundle,
} from './node/bundle/index.js';
export {
  type CompareOptions,
  type ComparisonResult,
  compareBackbones,
  compareEvaluations,
} from './node/compare/compare.js';
export {
  DOWNLOADABLE_DATASETS,
  type FetchDatasetOptions,
  type FetchResult,
  fetchDataset,
} from './node/data/fetch-dataset.js';
export { type LoadDatasetOptions, loadDataset } from './node/data/load-dataset.js';
export { readSplitFile, writeSplitFile } from './node/data/split-file.js';
export { type EvaluateOptions, type EvaluationResult, evaluateModel } from './node/evaluate/evaluate.js';
export {
  type Classifier,
  type ClassifierOptions,
  type ClassScore,
  createClassifier,
  type FileClassification,
  type PredictFilesOptions,
  predictFiles,
  TTA_MODES,
  type TtaMode,
} from './node/infer/index.js';
export {
  type TestResult,
  type TrainRunOptions,
  type TrainRunResult,
  trainRun,
} from './node/train/pipeline.js';
export {
  loadPretrainedBackbone,
  type PretrainedBackbone,
  type PretrainedOptions,
} from './node/weights/index.js';

export { type ApiErrorCode, createServer, type ServerOptions } from './serve/index.js';
