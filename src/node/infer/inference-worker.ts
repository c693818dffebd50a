// Worker thread of the inference pool (see inference-pool.ts): loads the bundle with its own ONNX Runtime
// session and answers batches of model-size pixels with probability rows (moved back, not copied).
import { workerData } from 'node:worker_threads';
import { serveRequests } from '../threads/serve-requests.js';
import { type ClassifierOptions, createClassifier } from './classifier.js';
import type { InferenceRequest, InferenceWorkerData } from './inference-pool.js';

const { bundle, options } = workerData as InferenceWorkerData;
const classifier = await createClassifier(bundle, options as ClassifierOptions);
serveRequests<InferenceRequest, Float32Array[]>(async ({ batch, count }) => {
  const rows = await classifier.classifyPixels(batch, count);
  return { value: rows, transfer: rows.map((r) => r.buffer as ArrayBuffer) };
});
