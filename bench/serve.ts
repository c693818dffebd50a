// bench:serve — latency, throughput, bad-input handling and RSS of `lesionlab serve` on loopback.
// The server runs in a child process (`node bin/lesionlab.js serve`), so its RSS is its own.
// Usage: npm run bench:serve [-- --requests 5000 --threads 2]
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { ensureMobileNetBundle, SHARED } from './serve-model.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const TOTAL = arg('requests', 5000);
/** Wall-clock budget of each load phase: the bench stops by itself even on a saturated machine. */
const PHASE_SECONDS = arg('max-seconds', 300);
const THREADS = arg('threads', 0);
const C1_SHARE = 0.1;

async function testImage(): Promise<Buffer> {
  const dir = join(SHARED, 'data/ham10000/HAM10000_images_part_1');
  const first = (await readdir(dir)).filter((f) => f.endsWith('.jpg')).sort()[0];
  return sharp(join(dir, first)).resize(600, 450).jpeg({ quality: 90 }).toBuffer();
}

async function startServer(bundle: string): Promise<{ child: ChildProcess; url: string }> {
  const args = [
    'bin/lesionlab.js',
    'serve',
    bundle,
    '--port',
    '0',
    ...(THREADS ? ['--threads', String(THREADS)] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.resume();
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${out}`)));
  });
  return { child, url };
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

async function load(
  url: string,
  body: Uint8Array<ArrayBuffer>,
  total: number,
  concurrency: number,
): Promise<Phase> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let sent = 0;
  const deadline = performance.now() + PHASE_SECONDS * 1000;
  const worker = async () => {
    while (sent < total && performance.now() < deadline) {
      sent++;
      const t = performance.now();
      const res = await fetch(`${url}/v1/predict`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'image/jpeg' },
      }).catch(() => undefined);
      await res?.arrayBuffer();
      latencies.push(performance.now() - t);
      const s = res?.status ?? 0;
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  process.stderr.write(`  phase c=${concurrency}: ${latencies.length} requests in ${seconds.toFixed(1)} s\n`);
  return { latencies, seconds, statuses };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
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

async function main(): Promise<void> {
  const bundle = await ensureMobileNetBundle(join(process.cwd(), '.cache/bench-serve/mobilenet_v1-bundle'));
  const image = new Uint8Array(await testImage());
  const { child, url } = await startServer(bundle);
  try {
    await load(url, image, 20, 1); // warm-up: ORT arenas, JIT
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
    const c16 = await load(url, image, TOTAL - n1, 16);
    const n16 = c16.latencies.length;
    const health = await fetch(`${url}/healthz`).then(
      (r) => r.json() as Promise<{ batches: number; images: number }>,
    );
    const rssEnd = await rssMb(child.pid!);
    clearInterval(sampler);
    const half = Math.floor(samples.length / 2);
    const rssMaxFirstHalf = Math.max(rssStart, ...samples.slice(0, half));
    const rssMaxSecondHalf = Math.max(0, ...samples.slice(half));
    const fivexx =
      count(c1.statuses, (s) => s >= 500 || s === 0) + count(c16.statuses, (s) => s >= 500 || s === 0);
    const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
    const figures = {
      model: 'mobilenet_v1 224 (ImageNet to conv_pw_12, random 7-class head)',
      image: '600x450 JPEG',
      server: 'child process (node bin/lesionlab.js serve)',
      requests: n1 + n16,
      requests_planned: TOTAL,
      p50_ms: r(pct(c1.latencies, 50), 2),
      p99_ms: r(pct(c1.latencies, 99), 2),
      rps_c1: r(n1 / c1.seconds),
      p50_c16_ms: r(pct(c16.latencies, 50), 2),
      p99_c16_ms: r(pct(c16.latencies, 99), 2),
      rps_c16: r(n16 / c16.seconds),
      mean_batch: r(health.images / health.batches, 2),
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
      ['latency c=1 p50 / p99', `${figures.p50_ms} / ${figures.p99_ms} ms  (${n1} requests)`],
      ['throughput c=1', `${figures.rps_c1} req/s`],
      ['latency c=16 p50 / p99', `${figures.p50_c16_ms} / ${figures.p99_c16_ms} ms  (${n16} requests)`],
      ['throughput c=16', `${figures.rps_c16} req/s (mean micro-batch ${figures.mean_batch})`],
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
