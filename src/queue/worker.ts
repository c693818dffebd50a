import { type Job, Worker } from 'bullmq';
import { expected } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { at } from '../core/util/at.js';
import type { FileClassification } from '../node/infer/classifier.js';
import {
  type ClassifyJobData,
  type ClassifyJobResult,
  type QueueTarget,
  queueKeys,
  type StoredResult,
} from './redis.js';

/** Classifies files; unreadable ones come back with an `error` (as `Classifier.classifyFiles`). */
export type ClassifyFiles = (paths: readonly string[]) => Promise<FileClassification[]>;

/** Options of {@link startQueueWorker}. */
export interface QueueWorkerOptions {
  /** The model's name and classes: a queue submitted for another model is refused. */
  readonly model: { readonly name: string; readonly classes: readonly string[] };
  /** Jobs run at once by this worker (default 1). */
  readonly concurrency?: number;
  /**
   * Seconds a job's lock lasts without renewal (default 30): a worker killed mid-job gives its job back to the
   * queue within about this long (plus the stalled check, every `lockSeconds / 2`).
   */
  readonly lockSeconds?: number;
  /** Gets one line per job. */
  readonly logger?: Logger;
}

function stored(result: FileClassification): StoredResult {
  return 'error' in result ? { error: result.error } : { p: Array.from(result.probabilities) };
}

/**
 * Processes one job: skips keys that already have a result (a retried job, or a key in two jobs), classifies
 * the rest and stores each result with HSETNX, so a key's result is written once whatever the retries.
 */
export async function processJob(
  client: Awaited<Worker['client']>,
  queueName: string,
  keys: readonly string[],
  classify: ClassifyFiles,
): Promise<ClassifyJobResult> {
  const k = queueKeys(queueName);
  const existing = keys.length > 0 ? await client.hmget(k.results, ...keys) : [];
  const todo = keys.filter((_, i) => existing[i] === null);
  const results = todo.length > 0 ? await classify(todo) : [];
  const multi = client.multi();
  for (const [i, result] of results.entries()) {
    const key = at(todo, i);
    multi.hsetnx(k.results, key, JSON.stringify(stored(result)));
    if ('error' in result) multi.hsetnx(k.errors, key, result.error);
  }
  await multi.exec();
  const errors = results.filter((r) => 'error' in r).length;
  return { classified: results.length - errors, errors, skipped: keys.length - todo.length };
}

async function checkModel(
  client: Awaited<Worker['client']>,
  queue: string,
  model: QueueWorkerOptions['model'],
) {
  const k = queueKeys(queue);
  const owner = await client.hget(k.meta, 'model');
  if (owner !== null && owner !== model.name) {
    throw expected({
      what: `the model "${owner}" (the queue was submitted for it)`,
      where: `the queue "${queue}"`,
      received: `a worker that runs "${model.name}"`,
      fix: 'start the worker with that model',
      code: 'E_CONFIG',
    });
  }
  await client.hsetnx(k.meta, 'classes', JSON.stringify(model.classes));
}

/**
 * Starts a BullMQ worker on `target` that classifies each job's images with `classify` and stores the results
 * in Redis. A job whose worker dies (kill -9) is retried by another worker once its lock lapses; a job that
 * throws is retried (`attempts` at submit) and then left failed, its images pending until the next submit.
 */
export async function startQueueWorker(
  target: QueueTarget,
  classify: ClassifyFiles,
  options: QueueWorkerOptions,
): Promise<Worker<ClassifyJobData, ClassifyJobResult>> {
  const log = options.logger ?? silentLogger;
  const lockMs = Math.max(1, options.lockSeconds ?? 30) * 1000;
  const worker = new Worker<ClassifyJobData, ClassifyJobResult>(
    target.name,
    async (job: Job<ClassifyJobData>) => {
      const t = performance.now();
      const out = await processJob(await worker.client, target.name, job.data.keys, classify);
      const ms = Math.round(performance.now() - t);
      log.info(
        `job ${job.id}: ${out.classified} classified, ${out.errors} unreadable, ${out.skipped} already done (${ms} ms)`,
      );
      return out;
    },
    {
      connection: target.connection,
      concurrency: options.concurrency ?? 1,
      lockDuration: lockMs,
      stalledInterval: Math.max(500, lockMs / 2),
      maxStalledCount: 3,
      autorun: false,
    },
  );
  worker.on('failed', (job, error) => log.warn(`job ${job?.id ?? '?'} failed: ${error.message}`));
  worker.on('error', (error) => log.warn(`worker: ${error.message}`));
  try {
    await checkModel(await worker.client, target.name, options.model);
  } catch (error) {
    await worker.close();
    throw error;
  }
  void worker.run();
  return worker;
}
