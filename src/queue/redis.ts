import type { ConnectionOptions, RedisClient } from 'bullmq';
import { expected, type LesionlabError, shown } from '../core/errors.js';

/** The queue a command works on: a Redis server and a queue name (several archives can share one Redis). */
export interface QueueTarget {
  readonly connection: ConnectionOptions;
  readonly name: string;
}

/** Default queue name. */
export const DEFAULT_QUEUE = 'lesionlab';

/**
 * BullMQ connection options for a `redis://[user:password@]host[:port][/db]` URL (also `rediss://` for TLS).
 * Throws `E_CONFIG` naming the URL when it is not one.
 */
export function redisConnection(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(url, 'not a URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw badUrl(url, `scheme ${parsed.protocol}`);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw badUrl(url, `database "${parsed.pathname.slice(1)}"`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

function badUrl(url: string, why: string): LesionlabError {
  const masked = url.replace(/\/\/[^@/]*@/, '//***@');
  return expected({
    what: 'a Redis URL',
    where: '--redis',
    received: `${shown(masked)} (${why})`,
    fix: 'use redis://host:6379 or redis://:password@host:6379/0',
    code: 'E_CONFIG',
  });
}

/** The Redis keys holding a queue's results, beside BullMQ's own `bull:<name>:*` keys. */
export interface QueueKeys {
  /** Hash: image key -> JSON result (`{ p: number[] }` or `{ error }`); written once per key (HSETNX). */
  readonly results: string;
  /** Hash: image key -> why it could not be read (the unreadable ones among `results`). */
  readonly errors: string;
  /** Hash: image key -> id of the job that holds it (for resuming a submit). */
  readonly jobOf: string;
  /** Sorted set: image key scored by submission order (collect writes rows in this order). */
  readonly order: string;
  /** Counter behind `order`'s scores. */
  readonly seq: string;
  /**
   * Hash: `model` (bundle name) and `classes` (JSON, in output order), each set once by the first submit or
   * worker that names it ({@link claimQueue}) and compared by every later one.
   */
  readonly meta: string;
}

/** The result keys of queue `name`. */
export function queueKeys(name: string): QueueKeys {
  const base = `lesionlab:${name}`;
  return {
    results: `${base}:results`,
    errors: `${base}:errors`,
    jobOf: `${base}:job-of`,
    order: `${base}:order`,
    seq: `${base}:seq`,
    meta: `${base}:meta`,
  };
}

/** Which model a queue, a worker or a job is for: the bundle's name and its classes in output order. */
export interface ModelIdentity {
  readonly name: string;
  /** The order of the stored probabilities; absent where a submitter did not give them. */
  readonly classes?: readonly string[];
}

/** A job's data: the image keys (file paths) it classifies, and the model it was submitted for. */
export interface ClassifyJobData {
  readonly keys: readonly string[];
  /**
   * The model the job was submitted for: a worker for another one leaves the job queued and stops. Absent in
   * jobs queued before it was recorded; those are checked against the queue's `meta` instead.
   */
  readonly model?: ModelIdentity;
}

/** What a job returns once its images are stored. */
export interface ClassifyJobResult {
  readonly classified: number;
  readonly errors: number;
  /** Images skipped because a result was already stored (a retried or duplicated job). */
  readonly skipped: number;
  /** Images scored here whose result another attempt had stored meanwhile (kept once, by HSETNX). */
  readonly rescored: number;
}

/** One stored result, as JSON in the results hash. */
export type StoredResult = { readonly p: readonly number[] } | { readonly error: string };

/** What a queue's `meta` hash records: the model it is tied to (null where nothing is recorded yet). */
export interface QueueOwner {
  readonly model: string | null;
  readonly classes: readonly string[] | null;
}

/**
 * Ties queue `name` to `model` where nothing is recorded yet and returns what it records afterwards, for the
 * caller to compare with its own: HSETNX of `model` (and of `classes` when given) and the read-back run in one
 * MULTI, and entries are never overwritten, so the first submit or worker wins and every later one sees it.
 */
export async function claimQueue(
  client: RedisClient,
  name: string,
  model: ModelIdentity,
): Promise<QueueOwner> {
  const meta = queueKeys(name).meta;
  const multi = client.multi().hsetnx(meta, 'model', model.name);
  if (model.classes) multi.hsetnx(meta, 'classes', JSON.stringify(model.classes));
  const replies = await multi.hmget(meta, 'model', 'classes').exec();
  const last = replies?.at(-1);
  if (!last || last[0]) throw last?.[0] ?? new Error(`redis: MULTI on ${meta} was aborted`);
  const [owner = null, classes = null] = last[1] as (string | null)[];
  return { model: owner, classes: classes === null ? null : (JSON.parse(classes) as string[]) };
}

/**
 * The model the queue is tied to when it is not `model` ({@link claimQueue}'s `owner`: another name, or the same
 * name with other classes where both give them), for the refusal to name; undefined when they agree.
 */
export function tiedToOther(owner: QueueOwner, model: ModelIdentity): ModelIdentity | undefined {
  const sameName = owner.model === model.name;
  if (sameName && (!owner.classes || !model.classes || sameClasses(owner.classes, model.classes))) {
    return undefined;
  }
  return sameName ? { name: model.name, classes: owner.classes ?? [] } : { name: String(owner.model) };
}

/** True when two class lists are the same names in the same order. */
export function sameClasses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

/** `"name"`, with its classes when known: how errors name a model. */
export function describeModel(model: ModelIdentity): string {
  return model.classes ? `"${model.name}" with the classes ${model.classes.join(', ')}` : `"${model.name}"`;
}

/** Splits `items` into runs of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
