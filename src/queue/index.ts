export { type CollectOptions, type CollectSummary, collectResults } from './collect.js';
export {
  type ClassifyJobData,
  type ClassifyJobResult,
  DEFAULT_QUEUE,
  type ModelIdentity,
  type QueueKeys,
  type QueueTarget,
  queueKeys,
  redisConnection,
} from './redis.js';
export { type QueueStatus, queueStatus } from './status.js';
export { type SubmitOptions, type SubmitSummary, submitImages } from './submit.js';
export { type ClassifyFiles, processJob, type QueueWorkerOptions, startQueueWorker } from './worker.js';
