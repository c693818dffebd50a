// Forward passes in worker threads: ONNX Runtime's Node binding runs a session on the calling thread, so one
// session in the server's thread blocks its event loop for every batch and its intra-op threads stall whenever a
// decoder takes their core. N workers, each with its own single-threaded session, run N batches at once.
import type { Logger } from '../../core/logger.js';
import { type PoolWorkerData, ThreadPool, workerFiles } from '../threads/pool.js';
import { ownedPixels } from '../threads/serve-requests.js';
import type { ClassifierOptions } from './classifier.js';

/** Runs batches of model-size pixels (NHWC uint8) through the bundle: one probability row per image. */
export interface InferencePool {
  /** Worker threads, each with its own ONNX Runtime session: as many batches can run at once. */
  readonly workers: number;
  /** ONNX Runtime threads per worker. */
  readonly threadsPerWorker: number;
  /** Workers ready now (a dead one is replaced, reloading the bundle). */
  readonly live?: number;
  /** True while no worker runs or starts (they kept dying): every batch fails until one starts again. */
  readonly broken?: boolean;
  /** The bundle's probability rows for `count` images, computed in the least busy worker (moves `batch` there). */
  classifyPixels(batch: Uint8Array, count: number): Promise<Float32Array[]>;
  /** Stops the workers (pending batches reject); safe to call twice. */
  close(): Promise<void>;
}

/** A batch sent to a worker. */
export interface InferenceRequest {
  readonly batch: Uint8Array;
  readonly count: number;
}

/** What each inference worker is started with: the bundle folder and its classifier options. */
export interface InferenceWorkerData extends PoolWorkerData {
  readonly bundle: string;
  readonly options: Pick<ClassifierOptions, 'threads' | 'tta' | 'density'>;
}

/** Options of {@link startInferencePool}. */
export interface InferencePoolOptions extends Pick<ClassifierOptions, 'tta' | 'density'> {
  /** Bundle folder (or run folder) the workers load, each on its own. */
  readonly bundle: string;
  /** Worker threads (at least 1). */
  readonly workers: number;
  /** ONNX Runtime threads per worker (default 1). */
  readonly threadsPerWorker?: number;
  readonly logger?: Logger;
}

const WORKER = workerFiles(import.meta.url, 'inference-worker');

/**
 * Starts `options.workers` inference workers, each loading the bundle with `threadsPerWorker` ONNX Runtime
 * threads and the same test-time views and density rule as the caller's classifier; resolves once every worker
 * has its session. A worker that fails to load rejects with its error (e.g. `E_ONNX`), and none stays running.
 */
export async function startInferencePool(options: InferencePoolOptions): Promise<InferencePool> {
  const threadsPerWorker = options.threadsPerWorker ?? 1;
  const data: InferenceWorkerData = {
    module: WORKER.module.href,
    bundle: options.bundle,
    options: { threads: threadsPerWorker, tta: options.tta, density: options.density },
  };
  const size = Math.max(1, Math.floor(options.workers));
  const pool = await ThreadPool.start<InferenceRequest, Float32Array[], InferenceWorkerData>({
    size,
    entry: WORKER.entry,
    data,
    label: 'inference',
  });
  options.logger?.info(`inference: ${size} workers x ${threadsPerWorker} ONNX Runtime thread(s)`);
  return {
    workers: size,
    threadsPerWorker,
    get live() {
      return pool.live;
    },
    get broken() {
      return pool.broken;
    },
    classifyPixels: (batch, count) => {
      const owned = ownedPixels(batch);
      return pool.run({ batch: owned, count }, [owned.buffer as ArrayBuffer]);
    },
    close: () => pool.close(),
  };
}
