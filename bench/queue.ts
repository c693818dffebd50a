// bench:queue — batch scoring of HAM10000 on a BullMQ queue (redis-server on loopback): 1 worker vs 2 workers
// (one ONNX Runtime thread each) vs single-process `lesionlab predict`, and a 2-worker run in which one worker is
// killed with SIGKILL mid-way. Workers and predict run as child processes (`node bin/lesionlab.js ...`), each timed
// from its spawn (process start and model load included alike). `lost`: submitted images without a result once no
// job is left to run (10 s grace) or at BENCH_QUEUE_DEADLINE_S; `duplicated`: rows of the collected CSV naming an
// image twice (results are stored once per key with HSETNX, so this checks the store); `scored`/`rescored`: images
// the workers scored, every attempt counted, and those a retry scored again after their result was stored (the
// work the exactly-once store absorbed; measured by the workers from HSETNX's answers).
// Usage: npm run bench:queue [BENCH_IMAGES=2000 npm run bench:queue]

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { at } from '../src/core/util/at.js';
import { collectPredictInputs } from '../src/node/infer/inputs.js';
import {
  collectResults,
  type QueueStatus,
  queueStatus,
  redisConnection,
  submitImages,
} from '../src/queue/index.js';
import { startRedis, type TestRedis } from '../test/support/redis-server.js';
import { BENCH_BUNDLE, ensureMobileNetBundle, SHARED } from './serve-model.js';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 10_015);
const BATCH = 16;
const say = (s: string) => process.stderr.write(`  ${s}\n`);

function cli(args: string[], onLine?: (line: string) => void): ChildProcess {
  const child = spawn(process.execPath, ['bin/lesionlab.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) onLine?.(l);
  });
  child.stderr!.on('data', (d: Buffer) => {
    if (/error/i.test(d.toString())) process.stderr.write(d);
  });
  return child;
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve(c.exitCode)
    : new Promise<number | null>((r) => c.once('exit', (code) => r(code)));

/**
 * Single-process predict on both cores: images/s and its CSV. Timed from spawn to exit, process start and model
 * load included, as the queue runs are (their workers are started inside the timing too).
 */
async function runPredict(bundle: string, csv: string, out: string, images: number): Promise<number> {
  let rows = '';
  const start = performance.now();
  const child = cli(['predict', bundle, csv, '--format', 'csv', '--batch-size', String(BATCH)], (l) => {
    rows += `${l}\n`;
  });
  const code = await exited(child);
  const seconds = (performance.now() - start) / 1000;
  await writeFile(out, rows);
  say(`predict: ${images} images in ${seconds.toFixed(1)} s (exit ${code})`);
  return images / seconds;
}

/** Starts a worker with one ORT thread and resolves once it listens on the queue. */
async function startWorker(
  bundle: string,
  redis: TestRedis,
  queue: string,
  lockSeconds = 30,
): Promise<ChildProcess> {
  const args = ['worker', bundle, '--redis', redis.url, '--queue', queue, '--threads', '1', '--quiet'];
  return new Promise((resolve, reject) => {
    const child = cli([...args, '--lock-seconds', String(lockSeconds)], (l) => {
      if (l.startsWith('worker ')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before starting`)));
  });
}

interface QueueRun {
  images_per_s: number;
  /** Submitted images without a result once no job is left to run (or at the deadline). */
  lost: number;
  /** Rows of the collected CSV naming an image an earlier row named. */
  duplicated: number;
  /** Images a retry scored again after their result was stored (measured by the workers; kept once). */
  rescored: number;
  /** Images scored by the workers, every attempt counted. */
  scored: number;
  seconds: number;
}

/** The longest a queue run may take before what is still pending counts as lost. */
const DEADLINE_S = Number(process.env.BENCH_QUEUE_DEADLINE_S ?? 3600);

/** Submits every image to a fresh queue served by `workers` workers; `kill` kills one at 40% done. */
async function runQueue(
  bundle: string,
  redis: TestRedis,
  paths: string[],
  name: string,
  workers: number,
  kill = false,
  dir = tmpdir(),
): Promise<QueueRun> {
  const target = { connection: redisConnection(redis.url), name };
  const start = performance.now();
  const children = await Promise.all(
    Array.from({ length: workers }, () => startWorker(bundle, redis, name, kill ? 5 : 30)),
  );
  await submitImages(target, paths, { model: 'mobilenet_v1-random-head', batchSize: BATCH });
  let killed = false;
  let idleSince: number | undefined;
  let status: QueueStatus;
  for (;;) {
    status = await queueStatus(target);
    if (kill && !killed && status.done >= 0.4 * paths.length) {
      const victim = at(children, 0);
      victim.kill('SIGKILL');
      killed = true;
      say(`${name}: killed worker ${victim.pid} at ${status.done} of ${paths.length}`);
    }
    if (status.pending === 0 && status.total === paths.length) break;
    // no job waiting, running or due for a retry, yet images pending: they are lost (after a grace period)
    const { waiting = 0, active = 0, delayed = 0, prioritized = 0 } = status.jobs;
    const idle = waiting + active + delayed + prioritized === 0;
    idleSince = idle ? (idleSince ?? performance.now()) : undefined;
    if (idleSince !== undefined && performance.now() - idleSince > 10_000) break;
    if (performance.now() - start > DEADLINE_S * 1000) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const seconds = (performance.now() - start) / 1000;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map(exited));
  const out = join(dir, `${name}.csv`);
  await collectResults(target, out);
  const keys = (await readFile(out, 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',')[0]);
  const distinct = new Set(keys);
  const lost = paths.filter((p) => !distinct.has(p)).length;
  say(
    `${name}: ${workers} worker(s)${kill ? ', one killed' : ''}: ${paths.length} images in ${seconds.toFixed(1)} s`,
  );
  return {
    images_per_s: paths.length / seconds,
    lost,
    duplicated: keys.length - distinct.size,
    rescored: status.rescored,
    scored: status.scored,
    seconds,
  };
}

async function main(): Promise<void> {
  const bundle = await ensureMobileNetBundle(join(process.cwd(), BENCH_BUNDLE));
  const all = (await collectPredictInputs(join(SHARED, 'data/ham10000'))).paths;
  const paths = all.slice(0, IMAGES);
  const dir = await mkdtemp(join(tmpdir(), 'lesionlab-bench-queue-'));
  const csv = join(dir, 'images.csv');
  await writeFile(csv, `path\n${paths.join('\n')}\n`);
  const redis = await startRedis();
  try {
    say(`${paths.length} images, redis at ${redis.url}`);
    const predict = await runPredict(bundle, csv, join(dir, 'predict.csv'), paths.length);
    const one = await runQueue(bundle, redis, paths, 'w1', 1, false, dir);
    const two = await runQueue(bundle, redis, paths, 'w2', 2, false, dir);
    const killed = await runQueue(bundle, redis, paths, 'kill', 2, true, dir);
    // Path and top-3 labels/probabilities (predict may add columns of its own after them).
    const core = (row: string) => row.split(',').slice(0, 7).join(',');
    const rowsOf = async (f: string) =>
      (await readFile(join(dir, f), 'utf8')).trim().split('\n').slice(1).map(core);
    const predictRows = new Set(await rowsOf('predict.csv'));
    const queueRows = await rowsOf('w1.csv');
    const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
    const figures = {
      images: paths.length,
      model: 'mobilenet_v1 224 (ImageNet to conv_pw_12, random 7-class head)',
      predict_images_per_s: r(predict),
      worker1_images_per_s: r(one.images_per_s),
      workers2_images_per_s: r(two.images_per_s),
      killed_run_images_per_s: r(killed.images_per_s),
      scaling_2_workers: r(two.images_per_s / one.images_per_s, 2),
      workers2_vs_predict: r(two.images_per_s / predict, 2),
      rows_differing_from_predict: queueRows.filter((row) => !predictRows.has(row)).length,
      lost: one.lost + two.lost + killed.lost,
      duplicated: one.duplicated + two.duplicated + killed.duplicated,
      killed_run_lost: killed.lost,
      killed_run_duplicated: killed.duplicated,
      killed_run_scored: killed.scored,
      killed_run_rescored: killed.rescored,
    };
    console.log(`bench:queue — ${figures.images} HAM10000 images, ${figures.model}`);
    console.log(
      '  run                        images/s   lost   duplicated rows   scored (rescored, kept once)',
    );
    for (const [label, run] of [
      ['1 worker', one],
      ['2 workers', two],
      ['2 workers, one killed', killed],
    ] as const) {
      console.log(
        `  ${label.padEnd(26)} ${r(run.images_per_s).toFixed(1).padStart(8)}   ${String(run.lost).padStart(4)}   ${String(run.duplicated).padStart(15)}   ${run.scored} (${run.rescored})`,
      );
    }
    console.log(`  predict (one process)      ${r(predict).toFixed(1).padStart(8)}`);
    console.log(
      `  scaling 2 vs 1 worker ${figures.scaling_2_workers}; 2 workers vs predict ${figures.workers2_vs_predict}; rows differing from predict ${figures.rows_differing_from_predict}`,
    );
    console.log(JSON.stringify(figures));
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
