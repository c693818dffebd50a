import { Queue } from 'bullmq';
import { type QueueTarget, queueKeys } from './redis.js';

/** Progress of a queue. */
export interface QueueStatus {
  readonly model: string | null;
  /** Distinct images submitted. */
  readonly total: number;
  /** Images with a result (classified or reported unreadable). */
  readonly done: number;
  /** Images reported unreadable (part of `done`). */
  readonly unreadable: number;
  /** Images without a result yet. */
  readonly pending: number;
  /** BullMQ job counts: waiting, active, delayed, failed. */
  readonly jobs: Readonly<Record<string, number>>;
  /** Images the workers scored, counting each attempt (more than `done` when retries scored some twice). */
  readonly scored: number;
  /** Images scored again after another attempt had stored their result (dropped: results are kept once). */
  readonly rescored: number;
}

/** Reads a queue's progress (counts only: cheap to poll). */
export async function queueStatus(target: QueueTarget): Promise<QueueStatus> {
  const queue = new Queue(target.name, { connection: target.connection });
  try {
    const client = await queue.client;
    const k = queueKeys(target.name);
    const [model, total, done, unreadable, jobs, counts] = await Promise.all([
      client.hget(k.meta, 'model'),
      client.zcard(k.order),
      client.hlen(k.results),
      client.hlen(k.errors),
      queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
      client.hmget(k.meta, 'scored', 'rescored'),
    ]);
    return {
      model,
      total,
      done,
      unreadable,
      pending: Math.max(0, total - done),
      jobs,
      scored: Number(counts[0] ?? 0),
      rescored: Number(counts[1] ?? 0),
    };
  } finally {
    await queue.close();
  }
}
