export {
  type Classifier,
  type ClassifierOptions,
  createClassifier,
  type FileClassification,
} from './classifier.js';
export { createFormatter, PREDICT_FORMATS, type PredictFormat, type PredictionFormatter } from './format.js';
export { IMAGE_EXTENSIONS, listCsvImages, listImageFiles, resolvePredictInputs } from './inputs.js';
export { type ClassScore, type PredictFilesOptions, predictFiles, topK } from './predict.js';
export { TTA_MODES, type TtaMode } from './tta.js';
