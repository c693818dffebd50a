// lesionlab's browser entry: classify dermoscopic images in the page with ONNX Runtime Web.
export { type ClassMap, camForClass, heatColor, heatmapRgba, heatScaleGradient } from './cam.js';
export { type BrowserPrediction, type ClassScore, fetchBundleMeta, rankClasses } from './classify.js';
export {
  describeFigures,
  figuresCaution,
  type ModelFigures,
  modelFigures,
  recallText,
} from './model-figures.js';
export { loadWebModel, type WebModel, type WebModelUrls } from './ort-web.js';
export { preprocessRgba, preshrinkSize } from './preprocess.js';
