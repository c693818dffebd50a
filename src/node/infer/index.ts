export {
  type Classifier,
  type ClassifierOptions,
  createClassifier,
  type FileClassification,
  inferencePreprocess,
} from './classifier.js';
export {
  createFormatter,
  PREDICT_FORMATS,
  type PredictFormat,
  type PredictionContext,
  type PredictionFormatter,
} from './format.js';
export { IMAGE_EXTENSIONS, listCsvImages, listImageFiles, resolvePredictInputs } from './inputs.js';
export { type ClassScore, type PredictFilesOptions, predictFiles, topK } from './predict.js';
export { resolveViews, TTA_CHOICES, TTA_MODES, type TtaChoice, type TtaMode } from './tta.js';
