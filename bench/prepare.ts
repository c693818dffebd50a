// Benchmark of the image cache on the real HAM10000 (../shared/data/ham10000, 10,015 images):
// cold build images/s (fresh temp cache), warm full-pass time (every image's pixels read), peak RSS.
// Usage: npm run bench:prepare [-- --size 224 --resize crop --color-constancy --concurrency N --workers N
//        --warm-runs 3 --sweep]   (--sweep: cold rate of 1000 images for several worker counts x concurrencies first)

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { ImageRecord } from '../src/core/data/records.js';
import type { PreprocessSpec, ResizePolicy } from '../src/core/preprocess/spec.js';
import { at } from '../src/core/util/at.js';
import type { ImageCache } from '../src/node/preprocess/image-cache.js';
import {
  defaultDecodeConcurrency,
  defaultDecodeWorkers,
  prepareImageCache,
} from '../src/node/preprocess/prepare-image-cache.js';
import { median } from './lib/median.js';

const DATA = resolve(import.meta.dirname, '../../shared/data/ham10000');

/** Minimal HAM10000 reader: image_id and dx columns of the metadata CSV, images in part_1 or part_2. */
async function readHam10000(root: string): Promise<ImageRecord[]> {
  const [headerLine = '', ...lines] = (await readFile(join(root, 'HAM10000_metadata.csv'), 'utf8'))
    .trim()
    .split(/\r?\n/);
  const header = headerLine.split(',');
  const column = (name: string) => header.indexOf(name);
  const [lesion, image, dx] = [column('lesion_id'), column('image_id'), column('dx')];
  const part1 = new Set(
    (await readdir(join(root, 'HAM10000_images_part_1'))).map((f) => f.replace(/\.jpg$/, '')),
  );
  return lines.map((line) => {
    const cells = line.split(',');
    const id = at(cells, image);
    const part = part1.has(id) ? 'HAM10000_images_part_1' : 'HAM10000_images_part_2';
    return {
      imageId: id,
      label: at(cells, dx),
      groupId: at(cells, lesion),
      path: join(root, part, `${id}.jpg`),
    };
  });
}

/** Samples RSS every 50 ms; `peakMb()` also reads the kernel's high-water mark (VmHWM). */
function rssMonitor(): { stop: () => void; peakMb: () => Promise<number> } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return {
    stop: () => clearInterval(timer),
    peakMb: async () => {
      const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      return Math.max(peak, hwm ? Number(hwm[1]) * 1024 : 0) / 1024 / 1024;
    },
  };
}

async function fullPass(cache: ImageCache): Promise<{ seconds: number; checksum: number; images: number }> {
  const t0 = performance.now();
  let checksum = 0;
  let images = 0;
  for await (const batch of cache.batches({ batchSize: 32 })) {
    for (let i = 0; i < batch.indices.length; i++) {
      // One byte from the middle of each image: the read cannot be skipped, the sum costs nothing.
      checksum += at(batch.pixels, i * cache.imageBytes + (cache.imageBytes >> 1));
      images++;
    }
  }
  return { seconds: (performance.now() - t0) / 1000, checksum, images };
}

interface Parallelism {
  readonly concurrency: number;
  readonly workers: number;
}

async function coldBuild(records: readonly ImageRecord[], spec: PreprocessSpec, parallelism: Parallelism) {
  const root = await mkdtemp(join(tmpdir(), 'lesionlab-bench-cache-'));
  try {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const cache = await prepareImageCache(records, spec, { cacheRoot: root, ...parallelism });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { seconds, cache, root, cpuMsPerImage: (cpu.user + cpu.system) / 1000 / records.length };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

async function sweep(records: readonly ImageRecord[], spec: PreprocessSpec): Promise<void> {
  const subset = records.slice(0, 1000);
  console.log('workers x concurrency sweep (1000 images, cold):');
  const cpus = availableParallelism();
  const workerCounts = [...new Set([0, 1, cpus, cpus + 1])];
  for (const workers of workerCounts) {
    for (const perWorker of [2, 3, 4]) {
      const concurrency = Math.max(1, workers) * perWorker;
      const { seconds, cache, root, cpuMsPerImage } = await coldBuild(subset, spec, { concurrency, workers });
      await cache.close();
      await rm(root, { recursive: true, force: true });
      const rate = (subset.length / seconds).toFixed(0);
      console.log(
        `  workers ${workers}, concurrency ${String(concurrency).padStart(2)}: ${rate} images/s, ${cpuMsPerImage.toFixed(2)} CPU ms/image`,
      );
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '224' },
      resize: { type: 'string', default: 'crop' },
      'color-constancy': { type: 'boolean', default: false },
      concurrency: { type: 'string' },
      workers: { type: 'string' },
      'warm-runs': { type: 'string', default: '3' },
      sweep: { type: 'boolean', default: false },
    },
  });
  const size = Number(values.size);
  const spec: PreprocessSpec = {
    width: size,
    height: size,
    resize: values.resize as ResizePolicy,
    colorConstancy: values['color-constancy'],
  };
  const records = await readHam10000(DATA).catch(() => undefined);
  if (records === undefined) {
    console.log(`skipped: ${DATA} not found (the full HAM10000 lives in ../shared/data/ham10000)`);
    console.log(JSON.stringify({ skipped: true }));
    return;
  }
  const workers = values.workers ? Number(values.workers) : defaultDecodeWorkers(records.length);
  const concurrency = values.concurrency ? Number(values.concurrency) : defaultDecodeConcurrency(workers);
  if (values.sweep) await sweep(records, spec);
  const rss = rssMonitor();
  const { seconds, cache, root, cpuMsPerImage } = await coldBuild(records, spec, { concurrency, workers });
  const warm: number[] = [];
  let checksum = 0;
  try {
    for (let r = 0; r < Number(values['warm-runs']); r++) {
      const pass = await fullPass(cache);
      if (pass.images !== cache.count)
        throw new Error(`full pass read ${pass.images} of ${cache.count} images`);
      warm.push(pass.seconds);
      checksum = pass.checksum;
    }
  } finally {
    await cache.close();
    await rm(root, { recursive: true, force: true });
  }
  rss.stop();
  const peakMb = await rss.peakMb();
  const figures = {
    cold_images_per_s: Math.round(records.length / seconds),
    warm_load_s: Number(median(warm).toFixed(3)),
    peak_rss_mb: Math.round(peakMb),
    cold_cpu_ms_per_image: Number(cpuMsPerImage.toFixed(2)),
    concurrency,
    workers,
  };
  const gb = (cache.count * cache.imageBytes) / 1e9;
  console.log(
    `image cache benchmark: ${records.length} HAM10000 images -> ${size}x${size} ${spec.resize}${spec.colorConstancy ? ' +SoG' : ''}`,
  );
  console.log(
    `CPUs ${availableParallelism()}, decode workers ${workers}, concurrency ${concurrency}, sharp threads ${sharp.concurrency()}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`,
  );
  console.log('| measure                      | value |');
  console.log('|------------------------------|-------|');
  console.log(`| cold build (s)               | ${seconds.toFixed(1)} |`);
  console.log(`| cold build (images/s)        | ${figures.cold_images_per_s} |`);
  console.log(`| cold build CPU (ms/image)    | ${figures.cold_cpu_ms_per_image} (all threads) |`);
  console.log(`| cache size (GB)              | ${gb.toFixed(2)} |`);
  console.log(
    `| warm full pass, median (s)   | ${figures.warm_load_s} (runs: ${warm.map((w) => w.toFixed(2)).join(', ')}) |`,
  );
  console.log(`| warm full pass (GB/s)        | ${(gb / figures.warm_load_s).toFixed(1)} |`);
  console.log(`| peak RSS (MB)                | ${figures.peak_rss_mb} |`);
  console.log(`| checksum                     | ${checksum} |`);
  console.log(JSON.stringify(figures));
}

await main();
