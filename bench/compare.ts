/**
 * The real two-backbone comparison on the full HAM10000 (../shared/data/ham10000): MobileNet v1 and
 * MobileNetV2, both with real ImageNet weights (required: the bench stops before any work without them),
 * one frozen recipe (frozen backbone, global average pooling, 2 exact views per image with TTA, a linear
 * softmax head on standardised features), one lesion-grouped 70/15/15 split (seed 42), all through the
 * code path of `lesionlab compare` (compareBackbones). Budget: <= 30 min on the 2-vCPU machine.
 *
 *   npm run bench:compare                         # the full dataset
 *   BENCH_IMAGES=300 BENCH_EPOCHS=3 npm run bench:compare   # a quick check on ~300 images (~2 min)
 *   BENCH_VIEWS=1 npm run bench:compare           # 1 view per image: half the extraction time
 *
 * Prints a table (balanced accuracy with its 95% lesion-bootstrap interval, accuracy, McNemar p,
 * extraction images/s, training time), then as the very last line one JSON object with, per backbone,
 * balanced_accuracy (+ _ci), accuracy (+ _ci), weights (provenance), extract_images_per_s (images, each through
 * the recipe's views, as inference_images_per_s counts them), inference_images_per_s, train_s (the epochs alone)
 * and run_s (the whole training run: loading, extraction, epochs, export, test scoring); and mcnemar_p (clustered
 * by lesion: a lesion's test images are not independent), mcnemar_method, mcnemar_lesions, images, test_images,
 * total_s, out_dir.
 */
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../src/core/logger.js';
import { compareBackbones } from '../src/node/compare/compare.js';
import { runTimestamp } from '../src/node/train/run-dir.js';

const began = performance.now();
const ROOT = resolve(import.meta.dirname, '../../shared/data/ham10000');
const BACKBONES = ['mobilenet_v1', 'mobilenet_v2'];
const SUBSET = process.env.BENCH_IMAGES ? Number(process.env.BENCH_IMAGES) : undefined;
const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 80);
/** Exact views per image: 2 is the recipe; BENCH_VIEWS=1 halves extraction on a busy machine (say so). */
const VIEWS = Number(process.env.BENCH_VIEWS ?? 2);
const OUT = resolve(process.env.BENCH_OUT ?? join('runs', 'bench-compare', runTimestamp()));

/** The one recipe every backbone gets (frozen; nothing tuned per backbone). */
const RECIPE = {
  model: { pooling: 'avg', taps: [], hidden: 0, dropout: 0, standardize: true },
  features: {
    engine: 'onnx',
    views: VIEWS,
    tta: true,
    batchSize: 32,
    cacheRoot: resolve('.cache/lesionlab'),
  },
  train: {
    batchSize: 256,
    learningRate: 5e-3,
    weightDecay: 3e-3,
    classWeights: 'balanced',
    earlyStopping: { patience: 6 },
    reduceLr: { patience: 2 },
  },
};

const quiet: Logger = {
  info: (m) => process.stderr.write(`  ${m}\n`),
  warn: (m) => process.stderr.write(`  warning: ${m}\n`),
};

await access(join(ROOT, 'HAM10000_metadata.csv')).catch(() => {
  process.stderr.write(
    `bench:compare: ${ROOT} not found; this benchmark needs the real HAM10000 in ../shared\n`,
  );
  process.exit(1);
});

const result = await compareBackbones({
  backbones: BACKBONES,
  data: ROOT,
  format: 'ham10000',
  subset: SUBSET,
  seed: 42,
  epochs: EPOCHS,
  weights: 'imagenet',
  recipe: RECIPE,
  bootstrap: { resamples: 1000, seed: 42 },
  out: OUT,
  logger: quiet,
});

/**
 * A run's own timings: images whose features were extracted per second (each image through its `views` views, the
 * unit of the inference column); null when the cache served them), and the seconds its epochs took (the head's
 * training proper, without loading, extraction, export and test scoring).
 */
async function runTimings(backbone: string): Promise<{ extract: number | null; epochs: number | null }> {
  const runDir = join(OUT, 'runs', backbone);
  const results = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8'));
  const split = JSON.parse(await readFile(join(runDir, 'split.json'), 'utf8'));
  const images = ['train', 'val', 'test'].reduce((n, k) => n + (split.parts?.[k]?.length ?? 0), 0);
  const history = JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8').catch(() => 'null'));
  const epochs = Array.isArray(history)
    ? history.reduce((sum: number, e: { seconds?: number }) => sum + (e.seconds ?? 0), 0)
    : null;
  return { extract: results.extractSeconds > 1 ? images / results.extractSeconds : null, epochs };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const fmt = (x: number | null | undefined, digits: number) => (x == null ? '—' : x.toFixed(digits));
const pair = result.data.pairwise[0];
const rows: Record<string, unknown> = {};
process.stdout.write(
  `\nbench:compare: ${result.data.models[0]?.metrics.count ?? 0} test images, lesion-grouped 70/15/15 split seed 42${SUBSET ? ` (subset of ~${SUBSET} images)` : ''}\n`,
);
process.stdout.write(
  `${'backbone'.padEnd(14)}${'weights'.padEnd(58)}${'bal. acc [95% CI]'.padEnd(24)}${'accuracy'.padEnd(10)}${'extract img/s'.padEnd(15)}${'infer img/s'.padEnd(13)}${'train s'.padEnd(9)}run s\n`,
);
for (const m of result.data.models) {
  const ci = m.metrics.bootstrap?.balancedAccuracy;
  const { extract, epochs } = await runTimings(m.name);
  const ciText = ci ? ` [${pct(ci.lower)}, ${pct(ci.upper)}]` : '';
  process.stdout.write(
    `${m.name.padEnd(14)}${(m.weights ?? 'unknown').padEnd(58)}${`${pct(m.metrics.balancedAccuracy)}${ciText}`.padEnd(24)}${pct(m.metrics.accuracy).padEnd(10)}${fmt(extract, 1).padEnd(15)}${fmt(m.imagesPerSecond, 1).padEnd(13)}${fmt(epochs, 0).padEnd(9)}${fmt(m.trainSeconds, 0)}\n`,
  );
  rows[m.name] = {
    balanced_accuracy: m.metrics.balancedAccuracy,
    balanced_accuracy_ci: ci ? [ci.lower, ci.upper] : null,
    accuracy: m.metrics.accuracy,
    weights: result.weights[m.name] ?? null,
    extract_images_per_s: extract,
    inference_images_per_s: m.imagesPerSecond,
    accuracy_ci: m.metrics.bootstrap?.accuracy
      ? [m.metrics.bootstrap.accuracy.lower, m.metrics.bootstrap.accuracy.upper]
      : null,
    train_s: epochs,
    run_s: m.trainSeconds,
  };
}
if (pair)
  process.stdout.write(
    `McNemar ${pair.modelA} vs ${pair.modelB}: p = ${pair.pValue.toPrecision(3)} (${pair.method}; ${pair.b} vs ${pair.c} discordant images; ${pair.lesions ?? 'no'} lesions)\n`,
  );
process.stdout.write(`report: ${result.report.html}\n`);
console.log(
  JSON.stringify({
    ...rows,
    mcnemar_p: pair?.pValue ?? null,
    mcnemar_method: pair?.method ?? null,
    mcnemar_lesions: pair?.lesions ?? null,
    images: SUBSET ?? 'all',
    test_images: result.data.models[0]?.metrics.count ?? 0,
    epochs: EPOCHS,
    views: VIEWS,
    total_s: (performance.now() - began) / 1000,
    out_dir: OUT,
  }),
);
