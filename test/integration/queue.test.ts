import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import { at } from '../../src/core/util/at.js';
import type { FileClassification } from '../../src/node/infer/classifier.js';
import { createFormatter } from '../../src/node/infer/format.js';
import {
  collectResults,
  queueKeys,
  queueStatus,
  redisConnection,
  startQueueWorker,
  submitImages,
} from '../../src/queue/index.js';
import { redisMissing, startRedis, type TestRedis } from '../support/redis-server.js';

const MODEL = { name: 'fake', classes: HAM10000_CLASSES };
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
      `expected results of the model "other" for the queue "${t.name}" but received results of the model "fake"; use another --queue name, or delete the old queue's keys`,
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
      `expected the model "fake" (the queue was submitted for it) for the queue "${t.name}" but received a worker that runs "other"; start the worker with that model`,
    );
  });
});
