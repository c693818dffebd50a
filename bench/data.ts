// Data-side benchmark on the real HAM10000 in ../shared: metadata + tree scan, image header checks at several
// concurrency levels, and the lesion-grouped splits. Run: npm run bench:data. Last line: one JSON object.
import { access } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { kfoldByGroup, splitByGroup } from '../src/core/data/split.js';
import { checkImageFiles } from '../src/node/data/check-images.js';
import { loadDataset } from '../src/node/data/load-dataset.js';
import { median } from './lib/median.js';

const ROOT = join(import.meta.dirname, '..', '..', 'shared', 'data', 'ham10000');
const REPEATS = 3;

async function timeIt(fn: () => Promise<unknown> | unknown, repeats = REPEATS): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

if (
  !(await access(join(ROOT, 'HAM10000_metadata.csv')).then(
    () => true,
    () => false,
  ))
) {
  console.error(`bench:data needs the real dataset at ${ROOT}`);
  process.exit(1);
}

const rows: [string, number, string][] = [];
const ds = await loadDataset(ROOT, { checkImages: false });
const loadMs = median(await timeIt(() => loadDataset(ROOT, { checkImages: false })));
rows.push(['load (parse + scan, no image checks)', loadMs, `${ds.records.length} images`]);

const paths = ds.records.map((r) => r.path);
const subset = paths.filter((_, i) => i % 5 === 0);
const perConcurrency: Record<string, number> = {};
for (const c of [1, 4, 16, 64]) {
  const ms = median(await timeIt(() => checkImageFiles(subset, { concurrency: c })));
  const imagesPerSecond = Math.round((subset.length / ms) * 1000);
  perConcurrency[c] = imagesPerSecond;
  rows.push([`image checks, concurrency ${c}`, ms, `${subset.length} images, ${imagesPerSecond} img/s`]);
}
const fullCheckMs = median(await timeIt(() => loadDataset(ROOT), 1));
rows.push(['load with image checks (default, 16)', fullCheckMs, `${paths.length} images, 1 run`]);
const splitMs = median(await timeIt(() => splitByGroup(ds.records, { val: 0.15, test: 0.15, seed: 42 }), 5));
rows.push(['splitByGroup 70/15/15', splitMs, '5 runs']);
const kfoldMs = median(await timeIt(() => kfoldByGroup(ds.records, { folds: 5, seed: 42 }), 5));
rows.push(['kfoldByGroup k=5', kfoldMs, '5 runs']);

console.log(
  `cores ${availableParallelism()}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, sharp threads ${sharp.concurrency()}`,
);
console.log(`${'step'.padEnd(40)}  ${'median ms'.padStart(10)}  note`);
for (const [name, ms, note] of rows)
  console.log(`${name.padEnd(40)}  ${ms.toFixed(0).padStart(10)}  ${note}`);
console.log(
  JSON.stringify({
    bench: 'data',
    images: ds.records.length,
    loadNoCheckMs: Math.round(loadMs),
    loadWithChecksMs: Math.round(fullCheckMs),
    checkImagesPerSecond: perConcurrency,
    splitMs: Math.round(splitMs),
    kfoldMs: Math.round(kfoldMs),
    cores: availableParallelism(),
  }),
);
