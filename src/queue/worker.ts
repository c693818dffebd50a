import { type Job, Worker } from 'bullmq';
import { expected, type LesionlabError } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { at } from '../core/util/at.js';
import type { FileClassification } from '../node/infer/classifier.js';
import {
  type ClassifyJobData,
  type ClassifyJobResult,
  claimQueue,
  describeModel,
  type ModelIdentity,
  type QueueTarget,
  queueKeys,
  type StoredResult,
  sameClasses,
  tiedToOther,
} from './redis.js';

/** Classifies files; unreadable ones come back with an `error` (as `Classifier.classifyFiles`). */
export type ClassifyFiles = (paths: readonly string[]) => Promise<FileClassification[]>;

/** Options of {@link startQueueWorker}. */
export interface QueueWorkerOptions {
  /**
   * The model's name and classes (output order): a queue tied to another model, or to the same name with other
   * classes, is refused at start; a job submitted for another one stops the worker (see {@link startQueueWorker}).
   */
  readonly model: { readonly name: string; readonly classes: readonly string[] };
  /** Called once when the worker stops on a job for another model (default: a warning on `logger`). */
  readonly onRefuse?: (error: LesionlabError) => void;
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
  let rescored = 0;
  if (results.length > 0) {
    // the results' HSETNX first, so that reply i is result i's; then the unreadable ones' errors and the count
    const multi = client.multi();
    for (const [i, result] of results.entries()) {
      multi.hsetnx(k.results, at(todo, i), JSON.stringify(stored(result)));
    }
    for (const [i, result] of results.entries()) {
      if ('error' in result) multi.hsetnx(k.errors, at(todo, i), result.error);
    }
    multi.hincrby(k.meta, 'scored', results.length);
    const replies = (await multi.exec()) ?? [];
    // HSETNX answers 0 where another attempt stored the key first: scored twice, kept once
    rescored = replies.slice(0, results.length).filter((reply) => reply[1] === 0).length;
    if (rescored > 0) await client.hincrby(k.meta, 'rescored', rescored);
  }
  const errors = results.filter((r) => 'error' in r).length;
  return { classified: results.length - errors, errors, skipped: keys.length - todo.length, rescored };
}

/** Ties the queue to the worker's model, or refuses a queue tied to another one (checked once, at start). */
async function claimForWorker(
  client: Awaited<Worker['client']>,
  queue: string,
  model: QueueWorkerOptions['model'],
): Promise<void> {
  const owner = await claimQueue(client, queue, model);
  const tied = tiedToOther(owner, model);
  if (tied === undefined) return;
  const sameModel = owner.model === model.name;
  throw expected({
    what: `the model ${describeModel(tied)} (the queue is tied to it by its first submit or worker)`,
    where: `the queue "${queue}"`,
    received: `a worker that runs ${describeModel(sameModel ? model : { name: model.name })}`,
    fix: sameModel
      ? 'start every worker (and submit) with the same bundle, or use another --queue'
      : 'start the worker with that model, or use another --queue',
    code: 'E_CONFIG',
  });
}

/**
 * The refusal of a job submitted for another model than `model`: the identity in its data, or for a job queued
 * before that was recorded, the queue's `meta` as it stands now (a queue re-submitted for another model).
 */
async function jobRefusal(
  client: Awaited<Worker['client']>,
  queue: string,
  job: Job<ClassifyJobData>,
  model: QueueWorkerOptions['model'],
): Promise<LesionlabError | undefined> {
  let theirs: ModelIdentity | undefined = job.data.model;
  if (theirs === undefined) {
    const [name, classes] = await client.hmget(queueKeys(queue).meta, 'model', 'classes');
    theirs = {
      name: name ?? model.name,
      ...(classes ? { classes: JSON.parse(classes) as string[] } : {}),
    };
  }
  if (theirs.name === model.name && (!theirs.classes || sameClasses(theirs.classes, model.classes))) {
    return undefined;
  }
  return expected({
    what: `jobs for the model ${describeModel(model)} (this worker's)`,
    where: `the queue "${queue}"`,
    received: `job ${job.id} for the model ${describeModel(theirs)}`,
    fix: 'this worker stopped and left the job queued: start a worker with that model',
    code: 'E_CONFIG',
  });
}

/**
 * Starts a BullMQ worker on `target` that classifies each job's images with `classify` and stores the results
 * in Redis. A job whose worker dies (kill -9) is retried by another worker once its lock lapses; a job that
 * throws is retried (`attempts` at submit) and then left failed, its images pending until the next submit.
 *
 * The worker ties an empty queue to its model (name and classes; the first submit or worker wins) and refuses
 * to start, with one `E_CONFIG` line, on a queue tied to another one. A job submitted for another model (the
 * queue's keys were deleted and it was re-submitted while this worker ran) is never scored: the worker puts it
 * back at the head of the queue untouched (no attempt used, not failed) for a worker with that model, stops
 * taking jobs, finishes those it runs, closes, and reports why through `onRefuse`. Failing such jobs instead
 * would let one stale worker fail a whole archive; skipping them and running on would spin on them.
 */
export async function startQueueWorker(
  target: QueueTarget,
  classify: ClassifyFiles,
  options: QueueWorkerOptions,
): Promise<Worker<ClassifyJobData, ClassifyJobResult>> {
  const log = options.logger ?? silentLogger;
  const lockMs = Math.max(1, options.lockSeconds ?? 30) * 1000;
  let refusal: LesionlabError | undefined;
  const worker = new Worker<ClassifyJobData, ClassifyJobResult>(
    target.name,
    async (job: Job<ClassifyJobData>) => {
      const client = await worker.client;
      const refused = refusal ?? (await jobRefusal(client, target.name, job, options.model));
      if (refused) {
        if (!refusal) {
          refusal = refused;
          void worker.close(); // stops fetching now; completes once the jobs in hand are settled
          (options.onRefuse ?? ((e: LesionlabError) => log.warn(e.message)))(refused);
        }
        // BullMQ moves a job that throws this back to the head of the wait list as it was, and (unlike
        // DelayedError/WaitingError) fetches no next job for this worker.
        throw Worker.RateLimitError();
      }
      const t = performance.now();
      const out = await processJob(client, target.name, job.data.keys, classify);
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
    await claimForWorker(await worker.client, target.name, options.model);
  } catch (error) {
    await worker.close();
    throw error;
  }
  void worker.run();
  return worker;
}
