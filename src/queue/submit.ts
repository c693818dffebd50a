import { randomBytes } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import { expected } from '../core/errors.js';
import { at } from '../core/util/at.js';
import {
  type ClassifyJobData,
  chunk,
  claimQueue,
  describeModel,
  type ModelIdentity,
  type QueueTarget,
  queueKeys,
  tiedToOther,
} from './redis.js';

/** Options of {@link submitImages}. */
export interface SubmitOptions {
  /** Images per job (default 16). */
  readonly batchSize?: number;
  /** Name of the model the queue is for (recorded, and in each job: workers with another model refuse it). */
  readonly model: string;
  /**
   * The model's classes in output order (recorded, and in each job, as `model`): a queue, worker or job with
   * another order is refused. `lesionlab queue submit` passes the bundle's; without them only the name is checked.
   */
  readonly classes?: readonly string[];
  /** Attempts per job before it fails (default 3): a job-level failure, not an unreadable image. */
  readonly attempts?: number;
}

/** What a submit found and did. */
export interface SubmitSummary {
  /** Distinct image keys given. */
  readonly total: number;
  /** Already classified (or reported unreadable): skipped. */
  readonly done: number;
  /** Already in a waiting or running job: skipped. */
  readonly queued: number;
  /** Added now, in `jobs` new jobs. */
  readonly added: number;
  readonly jobs: number;
}

const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
const LOOKUP = 1000;

/**
 * Queues `keys` (image file paths) for classification in jobs of `batchSize`. Resumable: keys with a stored
 * result, and keys held by a job still waiting or running, are skipped; keys of failed or lost jobs are queued
 * again. The queue is tied to one model (its name, and its classes when given): submitting for another is refused,
 * and each job records the model it is for, so a worker for another one never scores it.
 */
export async function submitImages(
  target: QueueTarget,
  keys: readonly string[],
  options: SubmitOptions,
): Promise<SubmitSummary> {
  const queue = new Queue<ClassifyJobData>(target.name, { connection: target.connection });
  try {
    const client = await queue.client;
    const k = queueKeys(target.name);
    const model: ModelIdentity = {
      name: options.model,
      ...(options.classes ? { classes: [...options.classes] } : {}),
    };
    await claimModel(client, target.name, model);
    const unique = [...new Set(keys)];
    const { todo, done, queued } = await pendingKeys(queue, unique);
    const batchSize = Math.max(1, options.batchSize ?? 16);
    const run = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const jobs = chunk(todo, batchSize).map((part, i) => ({ id: `${run}-${i}`, keys: part }));
    // Keys point at their job before it exists: a crash in between leaves them on a missing job, re-queued later.
    const first = Number(await client.incrby(k.seq, todo.length)) - todo.length;
    for (const part of chunk(jobs, 200)) {
      const multi = client.multi();
      for (const job of part) {
        for (const key of job.keys) multi.hset(k.jobOf, key, job.id);
      }
      await multi.exec();
    }
    const scored = todo.flatMap((key, i) => [first + i, key]);
    for (const part of chunk(scored, 2 * LOOKUP)) await client.zadd(k.order, 'NX', ...part);
    for (const part of chunk(jobs, 500)) {
      await queue.addBulk(
        part.map((job) => ({
          name: 'classify',
          data: { keys: job.keys, model },
          opts: {
            jobId: job.id,
            attempts: options.attempts ?? 3,
            backoff: { type: 'exponential', delay: 1000 },
            removeOnComplete: true,
            removeOnFail: false,
          },
        })),
      );
    }
    return { total: unique.length, done, queued, added: todo.length, jobs: jobs.length };
  } finally {
    await queue.close();
  }
}

type Client = Awaited<Queue['client']>;

/** Ties the queue to `model` (name, and classes when given) or refuses when it is tied to another. */
async function claimModel(client: Client, name: string, model: ModelIdentity): Promise<void> {
  const tied = tiedToOther(await claimQueue(client, name, model), model);
  if (tied === undefined) return;
  throw expected({
    what: `the model ${describeModel(tied)} (the queue is tied to it by its first submit or worker)`,
    where: `the queue "${name}"`,
    received: `a submit for ${describeModel(model)}`,
    fix: "submit with that model, or use another --queue name, or delete the old queue's keys",
    code: 'E_CONFIG',
  });
}

/** Splits `keys` into those to queue now, and counts those done and those held by live jobs. */
async function pendingKeys(queue: Queue<ClassifyJobData>, keys: readonly string[]) {
  const client = await queue.client;
  const k = queueKeys(queue.name);
  const todo: string[] = [];
  let done = 0;
  let queued = 0;
  const liveJob = new Map<string, boolean>();
  for (const part of chunk(keys, LOOKUP)) {
    const [results, jobs] = await Promise.all([
      client.hmget(k.results, ...part),
      client.hmget(k.jobOf, ...part),
    ]);
    for (const [i, key] of part.entries()) {
      if (at(results, i) !== null) {
        done++;
        continue;
      }
      const id = at(jobs, i);
      if (id !== null && !liveJob.has(id)) liveJob.set(id, await isLive(queue, id));
      if (id !== null && liveJob.get(id)) queued++;
      else todo.push(key);
    }
  }
  return { todo, done, queued };
}

async function isLive(queue: Queue<ClassifyJobData>, id: string): Promise<boolean> {
  const job = await Job.fromId(queue, id);
  return job !== undefined && LIVE_STATES.has(await job.getState());
}
