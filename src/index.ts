// lesionlab's public Node API: named exports only. Each module adds its exports here.

export { isLesionlabError, LesionlabError, type LesionlabErrorCode } from './core/errors.js';
export { DX_NAMES, type DxCode, HAM10000_CLASSES, isDxCode } from './core/labels.js';
export { type Logger, type ProgressHook, silentLogger } from './core/logger.js';
