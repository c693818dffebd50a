// bench:serve — latency, throughput, bad-input handling and RSS of `lesionlab serve` on loopback, against the
// model's own batched ONNX Runtime throughput on the same decoded image, measured in the same run.
// The server runs in a child process (`node bin/lesionlab.js serve`), so its RSS is its own.
// The model's own throughput is the better of one session on every core and one single-thread session per core
// run side by side (the inference pool's layout), so the server is never compared with a slower way of running it.
// The bundle carries the HAM10000 density rule, as every bundle `train` writes does, so a 600x450 upload is decoded
// in full and area-filtered to 200x150 (a bundle without the rule resampled it to 448x448 with lanczos3 first).
// It also reports the CPU time per request at c=16 of the server (all its threads, /proc) and of the load client.
// The load client is a lean keep-alive HTTP poster (bench/lib/http-post.ts, ~0.5 ms CPU per request), so it takes
// little from the cores the server needs. `--solo 0` sends lone images to the inference workers too (`--no-solo`).
// Usage: npm run bench:serve [-- --requests 5000 --threads 2 --decode-workers 2 --inference-workers 2 --solo 1 --max-batch 8
//        --max-wait-ms 5]

import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { at } from '../src/core/util/at.js';
import { createClassifier } from '../src/node/infer/classifier.js';
import { startInferencePool } from '../src/node/infer/inference-pool.js';
import { keepAliveAgent, post } from './lib/http-post.js';
import { BENCH_BUNDLE, ensureMobileNetBundle, ham10000Jpegs } from './serve-model.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const TOTAL = arg('requests', 5000);
/** Wall-clock budget of each load phase: the bench stops by itself even on a saturated machine. */
const PHASE_SECONDS = arg('max-seconds', 300);
const THREADS = arg('threads', 0);
const DECODE_WORKERS = arg('decode-workers', 2);
/**
 * The server's `--inference-workers`: 2 by default, the faster layout on 2 cores (README, Serving; `serve`'s own
 * default stays 0, one model copy in memory).
 */
const INFERENCE_WORKERS = arg('inference-workers', 2);
/** With inference workers: lone images on an idle server in the server thread's session on every core (1) or not (0). */
const SOLO = arg('solo', 1) !== 0;
const MAX_BATCH = arg('max-batch', 8);
/** The server's `--max-wait-ms` (its default is 5). */
const MAX_WAIT_MS = arg('max-wait-ms', 5);
/** Seconds spent measuring the model's batched throughput. */
const MODEL_SECONDS = arg('model-seconds', 8);
const C1_SHARE = 0.1;

async function testImage(): Promise<Buffer> {
  const [first] = await ham10000Jpegs();
  return sharp(first).resize(600, 450).jpeg({ quality: 90 }).toBuffer();
}

async function startServer(bundle: string): Promise<{ child: ChildProcess; url: string }> {
  const args = [
    'bin/lesionlab.js',
    'serve',
    bundle,
    '--port',
    '0',
    ...(THREADS ? ['--threads', String(THREADS)] : []),
    '--decode-workers',
    String(DECODE_WORKERS),
    '--inference-workers',
    String(INFERENCE_WORKERS),
    ...(SOLO ? [] : ['--no-solo']),
    '--max-batch',
    String(MAX_BATCH),
    '--max-wait-ms',
    String(MAX_WAIT_MS),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.resume();
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/[^\s"]+)/.exec(out);
      if (!m) return;
      child.stdout!.off('data', onData).resume(); // one JSON log line per request from here on: drained, not kept
      resolve(at(m, 1));
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${out}`)));
  });
  return { child, url };
}

/** The model's own speed in this process, on the same image decoded by the bundle's preprocessing. */
interface ModelSpeed {
  /** Median single-image forward time of one session on every core. */
  readonly singleMs: number;
  /** Images/s of back-to-back batches of `MAX_BATCH` (the server's batch size) in one session on every core. */
  readonly oneSession: number;
  /** Images/s of as many single-thread sessions as cores, each in its own thread, batches of `MAX_BATCH`. */
  readonly parallelSessions: number;
  /** The better of the two: the model's throughput on this machine. */
  readonly imagesPerS: number;
}

async function modelSpeed(bundle: string, image: Uint8Array): Promise<ModelSpeed> {
  const classifier = await createClassifier(bundle, THREADS ? { threads: THREADS } : {});
  try {
    const pixels = await classifier.decode(image);
    const batch = new Uint8Array(pixels.length * MAX_BATCH);
    for (let i = 0; i < MAX_BATCH; i++) batch.set(pixels, i * pixels.length);
    for (let i = 0; i < 5; i++) await classifier.classifyPixels(batch, MAX_BATCH); // warm-up
    const singles: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t = performance.now();
      await classifier.classifyPixels(pixels, 1);
      singles.push(performance.now() - t);
    }
    const oneSession = await imagesPerSecond(1, () => classifier.classifyPixels(batch, MAX_BATCH));
    const parallelSessions = await parallelSpeed(bundle, batch);
    const imagesPerS = Math.max(oneSession, parallelSessions);
    return { singleMs: pct(singles, 50), oneSession, parallelSessions, imagesPerS };
  } finally {
    await classifier.dispose();
  }
}

/** Images/s of `lanes` loops of `step` (one batch of `MAX_BATCH` each) for `MODEL_SECONDS`. */
async function imagesPerSecond(lanes: number, step: () => Promise<unknown>): Promise<number> {
  let images = 0;
  const start = performance.now();
  const lane = async () => {
    while (performance.now() - start < MODEL_SECONDS * 1000) {
      await step();
      images += MAX_BATCH;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return images / ((performance.now() - start) / 1000);
}

/** One single-thread session per core, each in a worker thread, all busy at once. */
async function parallelSpeed(bundle: string, batch: Uint8Array): Promise<number> {
  const sessions = Math.max(1, availableParallelism());
  const pool = await startInferencePool({ bundle, workers: sessions, threadsPerWorker: 1 });
  try {
    const step = () => pool.classifyPixels(batch.slice(), MAX_BATCH);
    await Promise.all(Array.from({ length: 3 * sessions }, step)); // warm-up
    return await imagesPerSecond(sessions, step);
  } finally {
    await pool.close();
  }
}

/** CPU seconds (user + system) used so far by process `pid`, from /proc (clock ticks of 10 ms). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

interface Phase {
  latencies: number[];
  seconds: number;
  statuses: Map<number, number>;
}

async function load(url: string, body: Uint8Array, total: number, concurrency: number): Promise<Phase> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const target = new URL('/v1/predict', url);
  const agent = keepAliveAgent(concurrency);
  let sent = 0;
  const deadline = performance.now() + PHASE_SECONDS * 1000;
  const worker = async () => {
    while (sent < total && performance.now() < deadline) {
      sent++;
      const t = performance.now();
      const s = await post(agent, target, body, 'image/jpeg');
      latencies.push(performance.now() - t);
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  process.stderr.write(`  phase c=${concurrency}: ${latencies.length} requests in ${seconds.toFixed(1)} s\n`);
  return { latencies, seconds, statuses };
}

/** The p-th percentile (nearest rank) of `xs`; NaN (null in the JSON) when there are none. */
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const count = (m: Map<number, number>, pred: (s: number) => boolean) =>
  [...m].filter(([s]) => pred(s)).reduce((a, [, n]) => a + n, 0);

async function badInputs(
  url: string,
  good: Uint8Array<ArrayBuffer>,
): Promise<{ total: number; fourxx: number; kinds: Record<string, number> }> {
  const png = Buffer.from(
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#888' } })
      .png()
      .toBuffer(),
  );
  png.writeUInt32BE(60000, 16);
  png.writeUInt32BE(60000, 20); // CRC now wrong too: a bomb that also lies
  const cases: Array<[string, Uint8Array<ArrayBuffer>, string]> = (
    [
      ['truncated_jpeg', good.subarray(0, Math.floor(good.length / 3)), 'image/jpeg'],
      ['png_bomb_60000x60000', png, 'image/png'],
      ['wrong_content_type', Buffer.from('{"image": "no"}'), 'application/json'],
      ['text_as_jpeg', Buffer.from('definitely not a jpeg'), 'image/jpeg'],
      ['empty_body', Buffer.alloc(0), 'image/jpeg'],
    ] as Array<[string, Uint8Array, string]>
  ).map(([k, b, t]) => [k, new Uint8Array(b), t]);
  const kinds: Record<string, number> = {};
  let total = 0;
  let fourxx = 0;
  for (let round = 0; round < 20; round++) {
    for (const [kind, body, type] of cases) {
      const res = await fetch(`${url}/v1/predict`, {
        method: 'POST',
        body,
        headers: { 'content-type': type },
      }).catch(() => undefined);
      await res?.arrayBuffer();
      total++;
      if (res && res.status >= 400 && res.status < 500) fourxx++;
      else kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
  }
  return { total, fourxx, kinds };
}

/** The server's micro-batch counters (`/healthz`, counted from its start). */
function batchCounts(url: string): Promise<{ batches: number; images: number; soloBatches: number }> {
  return fetch(`${url}/healthz`).then(
    (r) => r.json() as Promise<{ batches: number; images: number; soloBatches: number }>,
  );
}

async function main(): Promise<void> {
  const bundle = await ensureMobileNetBundle(join(process.cwd(), BENCH_BUNDLE));
  const image = new Uint8Array(await testImage());
  const { child, url } = await startServer(bundle);
  try {
    await load(url, image, 20, 1); // warm-up: ORT arenas, JIT
    await load(url, image, 64, 16);
    // The server idles while the model is timed in this process (same cores, same threads setting).
    const speed = await modelSpeed(bundle, image);
    process.stderr.write(
      `  model: ${speed.imagesPerS.toFixed(1)} images/s (batch ${MAX_BATCH}; one session ${speed.oneSession.toFixed(1)}, parallel sessions ${speed.parallelSessions.toFixed(1)}), single image ${speed.singleMs.toFixed(2)} ms\n`,
    );
    const rssStart = await rssMb(child.pid!);
    const samples: number[] = [];
    const sampler = setInterval(
      () =>
        void rssMb(child.pid!).then(
          (v) => samples.push(v),
          () => {},
        ),
      1000,
    );
    const c1 = await load(url, image, Math.round(TOTAL * C1_SHARE), 1);
    const n1 = c1.latencies.length;
    const bad = await badInputs(url, image);
    const serverCpuBefore = await cpuSeconds(child.pid!);
    const clientCpuBefore = process.cpuUsage();
    const batchesBefore = await batchCounts(url); // the server's counters run from its start: c=16's own share
    const c16 = await load(url, image, TOTAL - n1, 16);
    const batchesAfter = await batchCounts(url);
    const n16 = c16.latencies.length;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const serverCpuMs = ((await cpuSeconds(child.pid!)) - serverCpuBefore) * 1000;
    const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000;
    // Timed again right after the c=16 phase: on a shared machine the load drifts; the ratio uses the mean.
    const after = await modelSpeed(bundle, image);
    process.stderr.write(`  model again: ${after.imagesPerS.toFixed(1)} images/s\n`);
    const modelRate = (speed.imagesPerS + after.imagesPerS) / 2;
    const health = {
      batches: batchesAfter.batches - batchesBefore.batches,
      images: batchesAfter.images - batchesBefore.images,
      soloBatches: batchesAfter.soloBatches - batchesBefore.soloBatches,
    };
    const rssEnd = await rssMb(child.pid!);
    clearInterval(sampler);
    const half = Math.floor(samples.length / 2);
    const rssMaxFirstHalf = Math.max(rssStart, ...samples.slice(0, half));
    const rssMaxSecondHalf = Math.max(0, ...samples.slice(half));
    const fivexx =
      count(c1.statuses, (s) => s >= 500 || s === 0) + count(c16.statuses, (s) => s >= 500 || s === 0);
    const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
    const figures = {
      model: 'mobilenet_v1 224 (ImageNet to conv_pw_12, random 7-class head, HAM10000 density rule)',
      image: '600x450 JPEG',
      server: 'child process (node bin/lesionlab.js serve)',
      requests: n1 + n16,
      requests_planned: TOTAL,
      p50_c1_ms: r(pct(c1.latencies, 50), 2),
      p99_c1_ms: r(pct(c1.latencies, 99), 2),
      rps_c1: r(n1 / c1.seconds),
      p50_c16_ms: r(pct(c16.latencies, 50), 2),
      p99_c16_ms: r(pct(c16.latencies, 99), 2),
      rps_c16: r(n16 / c16.seconds),
      model_images_per_s: r(modelRate),
      model_images_per_s_before_after: [r(speed.imagesPerS), r(after.imagesPerS)],
      model_images_per_s_one_session: r((speed.oneSession + after.oneSession) / 2),
      model_images_per_s_parallel_sessions: r((speed.parallelSessions + after.parallelSessions) / 2),
      model_batch: MAX_BATCH,
      single_forward_ms: r(speed.singleMs, 2),
      serve_efficiency: r(n16 / c16.seconds / modelRate, 3),
      overhead_ms: r(pct(c1.latencies, 50) - speed.singleMs, 2),
      decode_workers: DECODE_WORKERS,
      inference_workers: INFERENCE_WORKERS,
      solo: INFERENCE_WORKERS > 0 && SOLO,
      solo_batches: health.soloBatches,
      mean_batch: r(health.images / health.batches, 2),
      max_wait_ms: MAX_WAIT_MS,
      server_cpu_ms_per_request_c16: r(serverCpuMs / n16, 2),
      client_cpu_ms_per_request_c16: r(clientCpuMs / n16, 2),
      errors_5xx: fivexx,
      bad_inputs_4xx: bad.fourxx,
      bad_inputs_total: bad.total,
      bad_inputs_not_4xx: bad.kinds,
      rss_start_mb: r(rssStart),
      rss_end_mb: r(rssEnd),
      rss_max_first_half_mb: r(rssMaxFirstHalf),
      rss_max_second_half_mb: r(rssMaxSecondHalf),
    };
    const rows: Array<[string, string]> = [
      ['latency c=1 p50 / p99', `${figures.p50_c1_ms} / ${figures.p99_c1_ms} ms  (${n1} requests)`],
      ['throughput c=1', `${figures.rps_c1} req/s`],
      ['latency c=16 p50 / p99', `${figures.p50_c16_ms} / ${figures.p99_c16_ms} ms  (${n16} requests)`],
      ['throughput c=16', `${figures.rps_c16} req/s (mean micro-batch ${figures.mean_batch})`],
      [
        'model alone',
        `${figures.model_images_per_s} images/s (batch ${MAX_BATCH}; the better of one session ${figures.model_images_per_s_one_session} and parallel sessions ${figures.model_images_per_s_parallel_sessions}), 1 image ${figures.single_forward_ms} ms`,
      ],
      [
        'server layout',
        `${DECODE_WORKERS} decode workers, ${INFERENCE_WORKERS ? `${INFERENCE_WORKERS} inference workers${SOLO ? ` + lone images on every core in the server thread (${health.soloBatches} of ${health.batches} batches at c=16)` : ''}` : 'forward passes in the event-loop thread'}`,
      ],
      ['serve_efficiency', `${figures.serve_efficiency} (target >= 0.7)`],
      ['overhead_ms (c=1 p50 - fwd)', `${figures.overhead_ms} ms (target <= 10)`],
      [
        'CPU per request, c=16',
        `server ${figures.server_cpu_ms_per_request_c16} ms, load client (this process) ${figures.client_cpu_ms_per_request_c16} ms`,
      ],
      ['5xx / network errors', String(fivexx)],
      ['bad inputs answered 4xx', `${bad.fourxx} of ${bad.total}`],
      ['server RSS start -> end', `${figures.rss_start_mb} -> ${figures.rss_end_mb} MB`],
      [
        'server RSS max 1st/2nd half',
        `${figures.rss_max_first_half_mb} / ${figures.rss_max_second_half_mb} MB`,
      ],
    ];
    console.log(`bench:serve — ${figures.model}, ${figures.image}, server in a ${figures.server}`);
    for (const [k, v] of rows) console.log(`  ${k.padEnd(26)} ${v}`);
    console.log(JSON.stringify(figures));
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
