import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { expected } from '../core/errors.js';
import { at } from '../core/util/at.js';
import type { FileClassification } from '../node/infer/classifier.js';
import { createFormatter, type PredictFormat } from '../node/infer/format.js';
import { chunk, type QueueTarget, queueKeys, type StoredResult } from './redis.js';

/** Options of {@link collectResults}. */
export interface CollectOptions {
  /** `predict`'s output format (default csv). */
  readonly format?: PredictFormat;
  /** Classes per row (default 3). */
  readonly topK?: number;
}

/** What a collect wrote. */
export interface CollectSummary {
  readonly rows: number;
  readonly unreadable: number;
  /** Submitted images without a result yet (not written). */
  readonly pending: number;
}

const PAGE = 1000;

function toRow(key: string, json: string): FileClassification {
  const r = JSON.parse(json) as StoredResult;
  return 'error' in r ? { path: key, error: r.error } : { path: key, probabilities: Float32Array.from(r.p) };
}

/**
 * Writes every stored result to `out` in `predict`'s format (its formatter), in submission order, one row per
 * image key (a key has at most one result), atomically (temp file + rename). Images still pending are counted,
 * not written.
 */
export async function collectResults(
  target: QueueTarget,
  out: string,
  options: CollectOptions = {},
): Promise<CollectSummary> {
  const queue = new Queue(target.name, { connection: target.connection });
  const tmp = `${out}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const client = await queue.client;
    const k = queueKeys(target.name);
    const classes = await client.hget(k.meta, 'classes');
    if (classes === null) {
      throw expected({
        what: 'results',
        where: `the queue "${target.name}"`,
        received: 'none yet (no worker has started on it)',
        fix: 'run `lesionlab worker` first',
        code: 'E_INPUT',
      });
    }
    const format = createFormatter(
      options.format ?? 'csv',
      JSON.parse(classes) as string[],
      options.topK ?? 3,
    );
    const file = await open(tmp, 'w');
    const counts = { rows: 0, unreadable: 0, pending: 0 };
    try {
      const header = format.header();
      if (header) await file.write(`${header}\n`);
      const total = await client.zcard(k.order);
      for (let start = 0; start < total; start += PAGE) {
        const keys = await client.zrange(k.order, start, start + PAGE - 1);
        const values = keys.length > 0 ? await client.hmget(k.results, ...keys) : [];
        const lines: string[] = [];
        for (const [i, key] of keys.entries()) {
          const json = at(values, i);
          if (json === null) {
            counts.pending++;
            continue;
          }
          const row = toRow(key, json);
          if ('error' in row) counts.unreadable++;
          lines.push(format.row(row));
        }
        counts.rows += lines.length;
        for (const part of chunk(lines, PAGE)) if (part.length > 0) await file.write(`${part.join('\n')}\n`);
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, out);
    return counts;
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  } finally {
    await queue.close();
  }
}
