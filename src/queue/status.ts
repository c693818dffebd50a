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
}

/** Reads a queue's progress (counts only: cheap to poll). */
export async function queueStatus(target: QueueTarget): Promise<QueueStatus> {
  const queue = new Queue(target.name, { connection: target.connection });
  try {
    const client = await queue.client;
    const k = queueKeys(target.name);
    const [model, total, done, unreadable, jobs] = await Promise.all([
      client.hget(k.meta, 'model'),
      client.zcard(k.order),
      client.hlen(k.results),
      client.hlen(k.errors),
      queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
    ]);
    return {
      model,
      total,
      done,
      unreadable,
      pending: Math.max(0, total - done),
      jobs,
    };
  } finally {
    await queue.close();
  }
}
