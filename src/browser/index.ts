/**
 * lesionlab's browser entry (`lesionlab/browser`): classify dermoscopic images in the page with ONNX Runtime
 * Web, from a model bundle that `lesionlab export` wrote; the image never leaves the browser.
 *
 * How this surface is chosen: what a page needs to go from an image to ranked classes and a class-activation
 * overlay — load the model, shrink and preprocess the pixels, predict, draw the map — plus the typed errors
 * and the class labels. The demo page's own text helpers (model figures, the heat-scale legend) and the steps
 * inside `predict` (ranking, fetching bundle.json) stay internal; web/src imports those from their modules.
 */
export type { BundleMeta } from '../core/bundle/meta.js';
export { isLesionlabError, LesionlabError, type LesionlabErrorCode } from '../core/errors.js';
export { DX_NAMES, type DxCode, HAM10000_CLASSES, isDxCode } from '../core/labels.js';
export type { LesionMetadata } from '../core/train/metadata.js';
export { type ClassMap, camForClass, heatmapRgba } from './cam.js';
export type { BrowserPrediction, ClassScore } from './classify.js';
export { loadWebModel, type WebModel, type WebModelUrls } from './ort-web.js';
export { preprocessRgba, preshrinkSize } from './preprocess.js';
