export { inferencePreprocess } from '../../core/infer/classifier.js';
export { type ClassScore, rankClasses, topK } from '../../core/infer/rank.js';
export {
  type Classifier,
  type ClassifierOptions,
  createClassifier,
  type FileClassification,
} from './classifier.js';
export {
  createFormatter,
  PREDICT_FORMATS,
  type PredictFormat,
  type PredictionContext,
  type PredictionFormatter,
} from './format.js';
export { IMAGE_EXTENSIONS, listCsvImages, listImageFiles, resolvePredictInputs } from './inputs.js';
export { type PredictFilesOptions, predictFiles } from './predict.js';
export { resolveViews, TTA_CHOICES, TTA_MODES, type TtaChoice, type TtaMode } from './tta.js';
