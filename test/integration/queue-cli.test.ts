import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at } from '../../src/core/util/at.js';
import { queueKeys, queueStatus, redisConnection, submitImages } from '../../src/queue/index.js';
import { copySampleImages, runLesionlab } from '../support/cli.js';
import { redisMissing, startRedis, type TestRedis } from '../support/redis-server.js';
import { writeTinyBundle } from '../support/tiny-model.js';

let root: string;
let redis: TestRedis;

/** The CSV's rows as objects over the columns of `headerFrom`'s header (simple CSV: quoted cells last). */
function columns(headerFrom: string, csv = headerFrom): Record<string, string>[] {
  const split = (line: string) => {
    const quoted = line.indexOf(',"');
    const head = quoted < 0 ? line : line.slice(0, quoted);
    return quoted < 0 ? head.split(',') : [...head.split(','), line.slice(quoted + 1)];
  };
  const wanted = split(at(headerFrom.split('\n'), 0));
  const [header = '', ...rows] = csv.trim().split('\n');
  const names = split(header);
  return rows.map((row) => {
    const cells = split(row);
    return Object.fromEntries(wanted.map((w) => [w, at(cells, names.indexOf(w))]));
  });
}

beforeAll(async () => {
  if (redisMissing) return;
  redis = await startRedis();
  root = await mkdtemp(join(tmpdir(), 'lesionlab-queue-cli-'));
  await writeTinyBundle(join(root, 'bundle'));
  await copySampleImages(join(root, 'imgs'), 6);
  await writeFile(join(root, 'imgs', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]));
}, 120_000);

afterAll(async () => {
  await redis?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(redisMissing)('lesionlab queue + worker (CLI, real redis-server)', () => {
  it("submit, worker, status and collect give predict's CSV, row for row; a resubmit adds nothing", async () => {
    const bundle = join(root, 'bundle');
    const imgs = join(root, 'imgs');
    const sub = await runLesionlab([
      'queue',
      'submit',
      bundle,
      imgs,
      '--redis',
      redis.url,
      '--batch-size',
      '3',
    ]);
    expect(sub.stdout).toContain('7 images; 7 queued now in 3 jobs');
    const worker = spawn(process.execPath, [
      'bin/lesionlab.js',
      'worker',
      bundle,
      '--redis',
      redis.url,
      '--threads',
      '1',
    ]);
    try {
      const target = { connection: redisConnection(redis.url), name: 'lesionlab' };
      const end = Date.now() + 60_000;
      while ((await queueStatus(target)).pending > 0 && Date.now() < end)
        await new Promise((r) => setTimeout(r, 100));
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
    }
    const status = await runLesionlab(['queue', 'status', '--redis', redis.url, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({
      model: 'tiny',
      total: 7,
      done: 7,
      unreadable: 1,
      pending: 0,
    });
    const out = join(root, 'predictions.csv');
    const collected = await runLesionlab(['queue', 'collect', '--redis', redis.url, '--out', out]);
    expect(collected.code).toBe(3); // one unreadable image
    expect(collected.stdout).toContain('wrote 7 rows');
    const predicted = await runLesionlab(['predict', bundle, imgs, '--format', 'csv']);
    // Same rows and values in every column collect writes (predict may add columns of its own, e.g. its views).
    expect(columns(await readFile(out, 'utf8'), predicted.stdout)).toEqual(
      columns(await readFile(out, 'utf8')),
    );
    const again = await runLesionlab(['queue', 'submit', bundle, imgs, '--redis', redis.url]);
    expect(again.stdout).toContain('0 queued now in 0 jobs, 7 already done');
  }, 120_000);

  it('a worker that meets a job for another model exits 2 with one line and leaves the job queued', async () => {
    const target = { connection: redisConnection(redis.url), name: 'retied' };
    const worker = spawn(process.execPath, [
      'bin/lesionlab.js',
      'worker',
      join(root, 'bundle'),
      '--redis',
      redis.url,
      '--queue',
      target.name,
      '--threads',
      '1',
    ]);
    let stderr = '';
    worker.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => worker.once('exit', r));
    try {
      const end = Date.now() + 60_000; // the worker ties the empty queue to its model as it starts
      while ((await queueStatus(target)).model !== 'tiny' && Date.now() < end)
        await new Promise((r) => setTimeout(r, 100));
      const queue = new Queue(target.name, { connection: target.connection });
      try {
        await (await queue.client).del(...Object.values(queueKeys(target.name)));
      } finally {
        await queue.close();
      }
      await submitImages(target, [join(root, 'imgs', 'broken.jpg')], { model: 'other' });
      expect(await exited).toBe(2);
    } finally {
      worker.kill('SIGTERM');
    }
    expect(stderr).toMatch(
      /^lesionlab: expected jobs for the model "tiny" with the classes .* but received job \S+ for the model "other"; this worker stopped and left the job queued: start a worker with that model \[E_CONFIG\]$/m,
    );
    expect(await queueStatus(target)).toMatchObject({ model: 'other', total: 1, done: 0 });
    expect((await queueStatus(target)).jobs).toMatchObject({ waiting: 1, failed: 0 });
  }, 120_000);
});
