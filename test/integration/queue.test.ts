import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LesionlabError } from '../../src/core/errors.js';
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import { at } from '../../src/core/util/at.js';
import type { FileClassification } from '../../src/node/infer/classifier.js';
import { createFormatter } from '../../src/node/infer/format.js';
import {
  collectResults,
  processJob,
  queueKeys,
  queueStatus,
  redisConnection,
  startQueueWorker,
  submitImages,
} from '../../src/queue/index.js';
import { redisMissing, startRedis, type TestRedis } from '../support/redis-server.js';

const MODEL = { name: 'fake', classes: HAM10000_CLASSES };
/** Same bundle name, other class order (a re-trained or re-exported bundle). */
const REORDERED = { name: 'fake', classes: [...HAM10000_CLASSES].reverse() };
let redis: TestRedis;
let dir: string;
let n = 0;
const workers: Worker[] = [];
const children: ChildProcess[] = [];

/** A fresh queue name per test. */
const target = () => ({ connection: redisConnection(redis.url), name: `t${++n}` });

/** A fake classifier: files named bad* are unreadable; counts how often each path is classified. */
function fakeClassify(seen: Map<string, number>) {
  return async (paths: readonly string[]): Promise<FileClassification[]> =>
    paths.map((path) => {
      seen.set(path, (seen.get(path) ?? 0) + 1);
      if (path.includes('bad')) return { path, error: `${path}: cannot decode image (corrupt)` };
      const p = new Float32Array(7).fill(0.1);
      p[path.length % 7] = 0.4;
      return { path, probabilities: p };
    });
}

async function until(what: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const done = (t: ReturnType<typeof target>) => async () => (await queueStatus(t)).pending === 0;

beforeAll(async () => {
  if (redisMissing) return;
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'lesionlab-queue-'));
});

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

afterAll(async () => {
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(redisMissing)('processJob counts the work the exactly-once store absorbs', () => {
  it('scored counts every attempt, rescored the images another attempt stored first (kept once)', async () => {
    const t = target();
    const queue = new Queue(t.name, { connection: t.connection });
    const client = await queue.client;
    const keys = ['/imgs/a.jpg', '/imgs/b.jpg', '/imgs/bad.jpg'];
    const seen = new Map<string, number>();
    const classify = fakeClassify(seen);
    // a second attempt stores a.jpg and bad.jpg while the first is scoring (between its read and its write)
    const racing = async (paths: readonly string[]) => {
      const out = await classify(paths);
      await processJob(client, t.name, ['/imgs/a.jpg', '/imgs/bad.jpg'], classify);
      return out;
    };
    expect(await processJob(client, t.name, keys, racing)).toMatchObject({
      classified: 2,
      errors: 1,
      rescored: 2,
    });
    const s = await queueStatus(t);
    expect(s).toMatchObject({ done: 3, unreadable: 1, scored: 5, rescored: 2 });
    await queue.close();
  });
});

describe.skipIf(redisMissing)('queue on a real redis-server', () => {
  it('classifies every image once, reports unreadable ones once, and collects in predict CSV format', async () => {
    const t = target();
    const keys = Array.from({ length: 40 }, (_, i) => `/imgs/${i % 10 === 3 ? 'bad' : 'ok'}${i}.jpg`);
    const s = await submitImages(t, keys, { model: 'fake', batchSize: 6 });
    expect(s).toEqual({ total: 40, done: 0, queued: 0, added: 40, jobs: 7 });
    const seen = new Map<string, number>();
    workers.push(await startQueueWorker(t, fakeClassify(seen), { model: MODEL }));
    workers.push(await startQueueWorker(t, fakeClassify(seen), { model: MODEL }));
    await until(done(t));
    expect([...seen.values()].every((v) => v === 1)).toBe(true);
    expect(await queueStatus(t)).toMatchObject({ total: 40, done: 40, unreadable: 4, pending: 0 });
    const out = join(dir, `${t.name}.csv`);
    expect(await collectResults(t, out)).toEqual({ rows: 40, unreadable: 4, pending: 0 });
    const expected = await fakeClassify(new Map())(keys);
    const f = createFormatter('csv', HAM10000_CLASSES, 3);
    expect(await readFile(out, 'utf8')).toBe(
      `${[f.header(), ...expected.map((r) => f.row(r))].join('\n')}\n`,
    );
  });

  it('resumes a submit: images done or queued are skipped, and nothing is classified twice', async () => {
    const t = target();
    const keys = Array.from({ length: 20 }, (_, i) => `/a/${i}.jpg`);
    await submitImages(t, keys.slice(0, 12), { model: 'fake', batchSize: 5 });
    const again = await submitImages(t, keys, { model: 'fake', batchSize: 5 });
    expect(again).toMatchObject({ total: 20, done: 0, queued: 12, added: 8 });
    const seen = new Map<string, number>();
    workers.push(await startQueueWorker(t, fakeClassify(seen), { model: MODEL }));
    await until(done(t));
    expect(await submitImages(t, keys, { model: 'fake' })).toMatchObject({ done: 20, added: 0, jobs: 0 });
    expect(seen.size).toBe(20);
    expect([...seen.values()].every((v) => v === 1)).toBe(true);
    await expect(submitImages(t, keys, { model: 'other' })).rejects.toThrow(
      `expected the model "fake" (the queue is tied to it by its first submit or worker) for the queue "${t.name}" but received a submit for "other"; submit with that model, or use another --queue name, or delete the old queue's keys`,
    );
  });

  it('loses nothing when a worker is killed with SIGKILL mid-job: its job is retried, no image twice', async () => {
    const t = target();
    const keys = Array.from({ length: 30 }, (_, i) => `/k/${i}.jpg`);
    await submitImages(t, keys, { model: 'fake', batchSize: 10 });
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/slow-worker.ts', redis.url, t.name],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    await until(async () => (await queueStatus(t)).jobs.active === 1);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const seen = new Map<string, number>();
    workers.push(await startQueueWorker(t, fakeClassify(seen), { model: MODEL, lockSeconds: 2 }));
    await until(done(t));
    expect(seen.size).toBe(30);
    const client = await at(workers, 0).client;
    expect(await client.hlen(queueKeys(t.name).results)).toBe(30);
    const out = join(dir, `${t.name}.csv`);
    expect(await collectResults(t, out)).toEqual({ rows: 30, unreadable: 0, pending: 0 });
    const paths = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0]);
    expect(new Set(paths).size).toBe(30);
    expect(paths).toEqual(keys);
  }, 60_000);

  it('refuses to work a queue submitted for another model', async () => {
    const t = target();
    await submitImages(t, ['/x.jpg'], { model: 'fake' });
    await expect(
      startQueueWorker(t, fakeClassify(new Map()), { model: { ...MODEL, name: 'other' } }),
    ).rejects.toThrow(
      `expected the model "fake" (the queue is tied to it by its first submit or worker) for the queue "${t.name}" but received a worker that runs "other"; start the worker with that model, or use another --queue`,
    );
  });

  it("ties an empty queue to its first worker's model: a submit for another model is refused, nothing scored", async () => {
    const t = target();
    const seen = new Map<string, number>();
    workers.push(await startQueueWorker(t, fakeClassify(seen), { model: MODEL }));
    await expect(submitImages(t, ['/b/1.jpg', '/b/2.jpg'], { model: 'other' })).rejects.toThrow(
      `expected the model "fake" (the queue is tied to it by its first submit or worker) for the queue "${t.name}" but received a submit for "other"; submit with that model, or use another --queue name, or delete the old queue's keys`,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.size).toBe(0);
    expect(await queueStatus(t)).toMatchObject({ model: 'fake', total: 0, done: 0 });
  });

  it('refuses a worker, and a submit, whose bundle has the same name but another class order', async () => {
    const t = target();
    const seen = new Map<string, number>();
    workers.push(await startQueueWorker(t, fakeClassify(seen), { model: MODEL }));
    const mine = HAM10000_CLASSES.join(', ');
    const theirs = REORDERED.classes.join(', ');
    await expect(startQueueWorker(t, fakeClassify(seen), { model: REORDERED })).rejects.toThrow(
      `expected the model "fake" with the classes ${mine} (the queue is tied to it by its first submit or worker) for the queue "${t.name}" but received a worker that runs "fake" with the classes ${theirs}; start every worker (and submit) with the same bundle, or use another --queue`,
    );
    await expect(
      submitImages(t, ['/c/1.jpg'], { model: 'fake', classes: REORDERED.classes }),
    ).rejects.toThrow(
      `expected the model "fake" with the classes ${mine} (the queue is tied to it by its first submit or worker) for the queue "${t.name}" but received a submit for "fake" with the classes ${theirs}`,
    );
    // The same bundle is welcome, and collect labels the columns in its order.
    await submitImages(t, ['/c/1.jpg'], { model: 'fake', classes: HAM10000_CLASSES });
    await until(done(t));
    const out = join(dir, `${t.name}.csv`);
    expect(await collectResults(t, out)).toEqual({ rows: 1, unreadable: 0, pending: 0 });
    const f = createFormatter('csv', HAM10000_CLASSES, 3);
    expect(at((await readFile(out, 'utf8')).split('\n'), 0)).toBe(f.header());
  });

  it('a running worker never scores jobs re-submitted for another model: it leaves them queued and stops', async () => {
    const t = target();
    const seen = new Map<string, number>();
    const refusals: LesionlabError[] = [];
    const a = await startQueueWorker(t, fakeClassify(seen), {
      model: MODEL,
      concurrency: 2,
      onRefuse: (e) => refusals.push(e),
    });
    workers.push(a);
    // The queue is reset (its keys deleted) and re-submitted for another model while the worker waits for jobs.
    await (await a.client).del(...Object.values(queueKeys(t.name)));
    const keys = Array.from({ length: 5 }, (_, i) => `/r/${i}.jpg`);
    await submitImages(t, keys, { model: 'other', classes: REORDERED.classes, batchSize: 1 });
    await until(async () => refusals.length > 0, 10_000);
    await a.close(); // resolves once the worker has closed itself
    expect(refusals.map((e) => [e.code, e.message])).toEqual([
      [
        'E_CONFIG',
        expect.stringMatching(
          new RegExp(
            `^expected jobs for the model "fake" with the classes ${HAM10000_CLASSES.join(', ')} \\(this worker's\\) for the queue "${t.name}" but received job \\S+ for the model "other" with the classes ${REORDERED.classes.join(', ')}; this worker stopped and left the job queued: start a worker with that model$`,
          ),
        ),
      ],
    ]);
    expect(seen.size).toBe(0);
    expect(await queueStatus(t)).toMatchObject({
      model: 'other',
      total: 5,
      done: 0,
      jobs: { waiting: 5, active: 0, failed: 0, delayed: 0 },
    });
    // A worker for that model scores them all, once each.
    const seenOther = new Map<string, number>();
    workers.push(
      await startQueueWorker(t, fakeClassify(seenOther), {
        model: { name: 'other', classes: REORDERED.classes },
      }),
    );
    await until(done(t));
    expect([...seenOther.entries()].sort()).toEqual(keys.map((k) => [k, 1]));
    const out = join(dir, `${t.name}.csv`);
    expect(await collectResults(t, out)).toEqual({ rows: 5, unreadable: 0, pending: 0 });
    expect(at((await readFile(out, 'utf8')).split('\n'), 0)).toBe(
      createFormatter('csv', REORDERED.classes, 3).header(),
    );
  });

  it("checks a job queued without a model (an older submit's) against the queue's recorded model", async () => {
    const t = target();
    await submitImages(t, ['/l/1.jpg'], { model: 'fake' });
    const queue = new Queue(t.name, { connection: t.connection });
    try {
      await queue.add('classify', { keys: ['/l/2.jpg'] }); // the job data of earlier versions
      const seen = new Map<string, number>();
      const refusals: LesionlabError[] = [];
      const onRefuse = (e: LesionlabError) => refusals.push(e);
      workers.push(await startQueueWorker(t, fakeClassify(seen), { model: MODEL, onRefuse }));
      await until(async () => seen.size === 2);
      expect(refusals).toEqual([]);
      // The queue is now tied to another model (reset and re-submitted by an older version: no model in jobs).
      await (await queue.client).hset(queueKeys(t.name).meta, 'model', 'other');
      await queue.add('classify', { keys: ['/l/3.jpg'] });
      await until(async () => refusals.length > 0, 10_000);
      expect(at(refusals, 0).message).toMatch(
        /^expected jobs for the model "fake".* but received job \S+ for the model "other"/,
      );
      expect(seen.has('/l/3.jpg')).toBe(false);
      expect(await queue.getJobCounts('waiting', 'active', 'failed')).toMatchObject({
        waiting: 1,
        active: 0,
        failed: 0,
      });
    } finally {
      await queue.close();
    }
  });
});
