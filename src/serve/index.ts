export { ApiError, type ApiErrorBody, type ApiErrorCode, toErrorAnswer } from './api-error.js';
export { validateToken } from './auth.js';
export {
  type BatcherOptions,
  type BatcherStats,
  type BatchSlot,
  DEFAULT_BATCHER_OPTIONS,
  MicroBatcher,
} from './batcher.js';
export {
  checkImage,
  DEFAULT_IMAGE_LIMITS,
  type ImageKind,
  type ImageLimits,
  sniffImageKind,
} from './image-check.js';
export { jsonLogger, type LogFields, type StructuredLogger } from './log.js';
export { createServer, type ServerOptions } from './server.js';
export { registerWebPage, type WebPageOptions } from './static.js';
