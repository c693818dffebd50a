// lesionlab's public Node API: named exports only. Each module adds its exports here.

export {
  applyConfigOverrides,
  DIHEDRAL_VIEWS,
  type DihedralView,
  parseOverride,
  parseTrainConfig,
  type TrainConfig,
  type TrainConfigInput,
  TrainConfigSchema,
} from './core/config/train-config.js';
export { type ClassWeightMode, classWeights, countLabels } from './core/data/class-weights.js';
export { type CsvColumns, toImageId } from './core/data/formats.js';
export { mulberry32, shuffled } from './core/data/prng.js';
export type {
  DataIssue,
  Dataset,
  DatasetFormat,
  ImageRecord,
  SplitAssignment,
  SplitName,
} from './core/data/records.js';
export {
  foldAssignment,
  type KFoldOptions,
  kfoldByGroup,
  type SplitOptions,
  splitByGroup,
} from './core/data/split.js';
export {
  assertSplitMatches,
  buildSplitFile,
  datasetFingerprint,
  parseSplitFile,
  type SplitFile,
  SplitFileSchema,
  type SplitRecords,
  selectSplit,
  splitAssignmentOf,
} from './core/data/split-schema.js';
export { type DatasetSummary, formatSummary, summarizeDataset, summarizeParts } from './core/data/summary.js';
export { assertNoIssues, countIssues, formatIssues } from './core/data/validate.js';
export { isLesionlabError, LesionlabError, type LesionlabErrorCode } from './core/errors.js';
export {
  type BootstrapResult,
  bootstrapMetrics,
  type ConfidenceInterval,
} from './core/eval/bootstrap.js';
export { expectedCalibrationError } from './core/eval/calibration.js';
export {
  buildComparison,
  type ComparedModel,
  type ComparisonData,
  pairwiseMcNemar,
} from './core/eval/compare.js';
export { type McNemarResult, mcnemarFromCounts, mcnemarTest } from './core/eval/mcnemar.js';
export {
  accuracy,
  balancedAccuracy,
  classificationReport,
  confusionMatrix,
  logLoss,
  topKAccuracy,
} from './core/eval/metrics.js';
export { applyClassOffsets, tuneClassOffsets } from './core/eval/offsets.js';
export { formatPredictionsCsv, parsePredictionsCsv } from './core/eval/predictions.js';
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
  buildClassifier,
  buildHead,
  copyHeadWeights,
  getBackbone,
  HEAD_LAYERS,
  keepFrozenBatchNormInInference,
  setTrainableTop,
} from './core/models/index.js';
export { exportOnnx, type OnnxExport, type OnnxExportOptions, SUPPORTED_LAYERS } from './core/onnx/export.js';
export { augmentBatch, drawAugmentParams } from './core/preprocess/augment.js';
export {
  type AugmentConfig,
  type AugmentConfigInput,
  AugmentConfigSchema,
  DEFAULT_AUGMENT,
  IDENTITY_AUGMENT,
  parseAugmentConfig,
} from './core/preprocess/augment-config.js';
export { estimateIlluminant, SHADES_OF_GRAY_P, shadesOfGray } from './core/preprocess/color-constancy.js';
export { tileImages } from './core/preprocess/grid.js';
export { placeImage, type RawImage, resizeImage } from './core/preprocess/resize.js';
export type { Normalization, PreprocessSpec, ResizePolicy } from './core/preprocess/spec.js';
export {
  describePreprocessSpec,
  PreprocessSpecSchema,
  parsePreprocessSpec,
} from './core/preprocess/spec-schema.js';
export { EarlyStopping, ReduceLrOnPlateau, type WeightSnapshot } from './core/train/callbacks.js';
export { type ClassificationScores, classificationScores } from './core/train/epoch-metrics.js';
export {
  buildFeatureExtractor,
  buildTrainedClassifier,
  Head,
  type HeadSpec,
  type Pooling,
  poolFeatures,
} from './core/train/head.js';
export {
  classificationLoss,
  classWeightsFromCounts,
  type LossOptions,
  logPriorOffset,
} from './core/train/losses.js';
export { Prng } from './core/train/prng.js';
export {
  type EpochRecord,
  type ItemSet,
  predictSet,
  type TrainCheckpoint,
  type TrainHeadOptions,
  trainHead,
} from './core/train/trainer.js';
export { dihedralView } from './core/train/views.js';
export {
  BUNDLE_META_FILE,
  EXPORT_FORMATS,
  type ExportFormat,
  exportModelBundle,
  loadLayersModelFromDir,
  type ModelBundle,
  readModelBundle,
  resolveBundleDir,
  type WriteModelBundleArgs,
  writeModelBundle,
} from './node/bundle/index.js';
export { type CompareOptions, compareBackbones, compareEvaluations } from './node/compare/compare.js';
export { checkImageFile, checkImageFiles } from './node/data/check-images.js';
export {
  DEFAULT_DATAVERSE,
  DOWNLOADABLE_DATASETS,
  type FetchDatasetOptions,
  type FetchResult,
  fetchDataset,
} from './node/data/fetch-dataset.js';
export { type LoadDatasetOptions, loadDataset } from './node/data/load-dataset.js';
export { readSplitFile, writeFileAtomic, writeSplitFile } from './node/data/split-file.js';
export {
  type BackendChoice,
  type BackendInfo,
  type BackendPurpose,
  type SelectBackendOptions,
  selectBackend,
} from './node/engine/backend.js';
export { type EvaluateOptions, type EvaluationResult, evaluateModel } from './node/evaluate/evaluate.js';
export {
  type Classifier,
  type ClassifierOptions,
  type ClassScore,
  createClassifier,
  createFormatter,
  type FileClassification,
  PREDICT_FORMATS,
  type PredictFormat,
  predictFiles,
  resolvePredictInputs,
  TTA_MODES,
  type TtaMode,
  topK,
} from './node/infer/index.js';
export {
  createOnnxSession,
  DEFAULT_ONNX_THREADS,
  type OnnxOutput,
  type OnnxProvider,
  type OnnxSession,
  type OnnxSessionOptions,
} from './node/onnx/session.js';
export { writeAugmentPreview } from './node/preprocess/augment-preview.js';
export type { ImageCacheIndex, SkippedImage } from './node/preprocess/cache-index.js';
export { decodeImage, decodeRaw } from './node/preprocess/decode-image.js';
export {
  type BatchOptions,
  type ImageBatch,
  type ImageCache,
  openImageCache,
} from './node/preprocess/image-cache.js';
export {
  defaultDecodeConcurrency,
  type PrepareImageCacheOptions,
  prepareImageCache,
} from './node/preprocess/prepare-image-cache.js';
export { inspectReport, screenshotReport } from './node/report/browser.js';
export { writeEvaluationReport } from './node/report/write-report.js';
export { type BackboneLoader, type LoadedBackbone, loadRunBackbone } from './node/train/backbone.js';
export { type FeatureCache, loadOrBuildFeatureCache } from './node/train/feature-cache.js';
export { prepareRunFeatures, type RunFeatures } from './node/train/features.js';
export { featureItemSet, pixelItemSet } from './node/train/item-sets.js';
export {
  type TestResult,
  type TrainRunOptions,
  type TrainRunResult,
  trainRun,
} from './node/train/pipeline.js';
export { loadCheckpoint, RUN_FILES } from './node/train/run-dir.js';
export {
  ensureBackboneWeights,
  loadKerasH5Weights,
  loadPretrainedBackbone,
  loadTfjsLayersWeights,
  type PretrainedBackbone,
  type PretrainedOptions,
} from './node/weights/index.js';
export { type ApiErrorCode, createServer, type ServerOptions } from './serve/index.js';
