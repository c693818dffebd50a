/**
 * The classic transfer-learning recipe on the real HAM10000 (../shared/data/ham10000): ImageNet MobileNet v1
 * (../shared/weights, truncated after conv_pw_12_relu), frozen; multi-scale pooled features (global averages
 * of conv_pw_3/5/7/9/10/11 and of the output) cached once per image and exact view (flips x 90° rotations,
 * ONNX Runtime); an L2-regularised linear softmax head trained on the cache (TF.js wasm); lesion-grouped
 * 70/15/15 split, seed 42. Measures ONNX throughput first and picks the number of views K to fit the
 * extraction budget. The one tuned choice, the post-hoc logit adjustment τ, is picked by 5-fold
 * lesion-grouped CV inside train+validation (out-of-fold predictions; the test split is never looked at);
 * the test split and 5-fold lesion-grouped CV over all images are reported.
 *
 *   npm run bench:train                          # BENCH_EXTRACT_BUDGET_S=480 by default
 *   BENCH_VIEWS=2 npm run bench:train            # force K
 *   BENCH_QUICK=1 npm run bench:train            # no tuning/CV: post-hoc tau 0.5
 *
 * Prints tables, then as the very last line one JSON object (balanced_accuracy, accuracy, macro_f1,
 * recall_<class>, cache_speedup, total_s, peak_rss_mb, run_dir, cv_balanced_accuracy_mean/sd, ...).
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseTrainConfig, type TrainConfig } from '../src/core/config/train-config.js';
import { foldAssignment, kfoldByGroup } from '../src/core/data/split.js';
import { selectSplit } from '../src/core/data/split-schema.js';
import type { Logger } from '../src/core/logger.js';
import { argmaxRows, classificationScores } from '../src/core/train/epoch-metrics.js';
import { buildFeatureExtractor, type Head } from '../src/core/train/head.js';
import { logPriorOffset } from '../src/core/train/losses.js';
import { predictSet } from '../src/core/train/trainer.js';
import { selectBackend } from '../src/node/engine/backend.js';
import { decodeImage } from '../src/node/preprocess/decode-image.js';
import { loadRunBackbone } from '../src/node/train/backbone.js';
import { prepareRunData } from '../src/node/train/data.js';
import { createFeatureEngine } from '../src/node/train/engines.js';
import { prepareRunFeatures, runPreprocess } from '../src/node/train/features.js';
import { featureItemSet } from '../src/node/train/item-sets.js';
import { fitHead, trainRun } from '../src/node/train/pipeline.js';

const began = performance.now();
const ROOT = resolve('../shared/data/ham10000');
const N_IMAGES = 10015;
const EXTRACT_BUDGET_S = Number(process.env.BENCH_EXTRACT_BUDGET_S ?? 480);
const quiet: Logger = {
  info: (m) => process.stderr.write(`  ${m}\n`),
  warn: (m) => process.stderr.write(`  warning: ${m}\n`),
};
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: readonly number[]) =>
  Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));

await access(join(ROOT, 'HAM10000_metadata.csv')).catch(() => {
  process.stderr.write(
    `bench:train: ${ROOT} not found; this benchmark needs the real HAM10000 in ../shared\n`,
  );
  process.exit(1);
});

/** Multi-scale taps of MobileNet v1: the end of each resolution stage and of the last 14x14 blocks. */
const TAPS = [
  'conv_pw_3_relu',
  'conv_pw_5_relu',
  'conv_pw_7_relu',
  'conv_pw_9_relu',
  'conv_pw_10_relu',
  'conv_pw_11_relu',
];
const base = parseTrainConfig({
  data: { root: ROOT, val: 0.15, test: 0.15 },
  model: { backbone: 'mobilenet_v1', weights: 'imagenet', pooling: 'avg', taps: TAPS, dropout: 0 },
  features: { engine: 'onnx', batchSize: 32, cacheRoot: resolve('.cache/lesionlab') },
  train: {
    epochs: 80,
    batchSize: 256,
    learningRate: 5e-3,
    weightDecay: 3e-3,
    classWeights: 'none',
    earlyStopping: { patience: 6 },
    reduceLr: { patience: 2 },
  },
  output: { runsDir: resolve('runs') },
});
const backend = await selectBackend(base.train.backend, 'head', quiet);

// 1. ONNX Runtime throughput of backbone + pooling on real images (median of timed batches after a warm-up).
const backbone = await loadRunBackbone(base, quiet);
const rate = await measureRate(base);
const views = Number(
  process.env.BENCH_VIEWS ?? Math.max(1, Math.min(8, Math.floor((EXTRACT_BUDGET_S * rate) / N_IMAGES))),
);
process.stdout.write(
  `feature extraction: ${rate.toFixed(1)} images/s (ONNX Runtime, batch 32) -> K = ${views} views\n`,
);
const config: TrainConfig = { ...base, features: { ...base.features, views } };

// 2. Features of every image and view (cached; a rerun reuses them).
const scratch = await mkdtemp(join(tmpdir(), 'bench-train-'));
const data = await prepareRunData(config, scratch, { logger: quiet });
const run = await prepareRunFeatures(
  config,
  backbone,
  [...data.parts.train, ...data.parts.val, ...data.parts.test],
  { logger: quiet },
);
process.stdout.write(
  `features: ${run.features.ids.length} images x ${run.features.views} views, extraction ${run.extractSeconds.toFixed(0)} s (${run.engine})\n`,
);

// 3. τ by 5-fold lesion-grouped CV inside train+validation: out-of-fold predictions of every τ, pooled.
const trial = (cfg: TrainConfig, parts: { train: typeof data.parts.train; val: typeof data.parts.val }) =>
  fitHead(cfg, run.features, parts, data.classes);
const predictAt = async (
  head: Head,
  set: ReturnType<typeof featureItemSet>,
  counts: number[],
  tau: number,
) => {
  const { probabilities } = await predictSet(head, set, {
    tta: true,
    logitOffset: tau > 0 ? logPriorOffset(counts, -tau) : undefined,
  });
  return argmaxRows(probabilities, data.classes.length);
};
const scoreAt = async (head: Head, set: ReturnType<typeof featureItemSet>, counts: number[], tau: number) =>
  classificationScores(set.labels, await predictAt(head, set, counts, tau), data.classes.length);
const target = (s: { accuracy: number; balancedAccuracy: number }) =>
  Math.min(s.balancedAccuracy / 0.62, s.accuracy / 0.72);
const QUICK = process.env.BENCH_QUICK === '1';
const TAUS = [0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1];
const trainVal = [...data.parts.train, ...data.parts.val];
const tuneFolds = QUICK ? [] : kfoldByGroup(trainVal, { folds: 5, seed: base.seed + 1 });
const oof = TAUS.map(() => ({ labels: [] as number[], predicted: [] as number[] }));
for (let i = 0; i < tuneFolds.length; i++) {
  const parts = selectSplit(trainVal, foldAssignment(trainVal, tuneFolds, i, { val: 0.15, seed: base.seed }));
  const { head, counts } = await trial(config, parts);
  const set = featureItemSet(run.features, parts.test, data.classes, views);
  for (let t = 0; t < TAUS.length; t++) {
    oof[t].labels.push(...set.labels);
    oof[t].predicted.push(...(await predictAt(head, set, counts, TAUS[t])));
  }
  head.dispose();
  process.stderr.write(`  tuning fold ${i + 1}/${tuneFolds.length} done\n`);
}
let best = { tau: 0.5, score: -1, cv: { accuracy: Number.NaN, balancedAccuracy: Number.NaN } };
if (!QUICK) {
  process.stdout.write(
    `\nτ by 5-fold CV inside train+val (${trainVal.length} images; score = min(bal_acc/0.62, acc/0.72))\n  tau  cv_acc cv_bal_acc score\n`,
  );
  TAUS.forEach((tau, t) => {
    const s = classificationScores(
      Int32Array.from(oof[t].labels),
      Int32Array.from(oof[t].predicted),
      data.classes.length,
    );
    process.stdout.write(
      `${tau.toFixed(3).padStart(5)} ${s.accuracy.toFixed(3).padStart(7)} ${s.balancedAccuracy.toFixed(3).padStart(10)} ${target(s).toFixed(3).padStart(5)}\n`,
    );
    if (target(s) > best.score) best = { tau, score: target(s), cv: s };
  });
}
const chosen = parseTrainConfig({
  ...config,
  train: { ...config.train, logitAdjustment: { mode: best.tau > 0 ? 'posthoc' : 'none', tau: best.tau } },
});
process.stdout.write(`chosen by CV inside train+val: post-hoc tau ${best.tau}\n`);

// 4. The final run with the chosen recipe: run directory, bundle, test scores.
const runBegan = performance.now();
const final = await trainRun(chosen, { logger: quiet });
const runS = (performance.now() - runBegan) / 1000 + run.extractSeconds;
const test = final.test!;
const headEpoch = median(final.history.map((r) => r.seconds));
const recomputeEpoch = data.parts.train.length / rate + headEpoch;

// 5. 5-fold lesion-grouped CV of the chosen recipe on all images (cheap with the cache).
const all = [...data.parts.train, ...data.parts.val, ...data.parts.test];
const folds = QUICK ? [] : kfoldByGroup(all, { folds: 5, seed: chosen.seed });
const cv: number[] = [];
for (let i = 0; i < folds.length; i++) {
  const parts = selectSplit(all, foldAssignment(all, folds, i, { val: 0.15, seed: chosen.seed }));
  const { head, counts } = await trial(chosen, parts);
  const s = await scoreAt(
    head,
    featureItemSet(run.features, parts.test, data.classes, views),
    counts,
    best.tau,
  );
  cv.push(s.balancedAccuracy);
  process.stdout.write(
    `cv fold ${i + 1}: balanced accuracy ${s.balancedAccuracy.toFixed(3)}, accuracy ${s.accuracy.toFixed(3)}\n`,
  );
  head.dispose();
}
await rm(scratch, { recursive: true, force: true });

const totalS = (performance.now() - began) / 1000;
const peakRss = process.resourceUsage().maxRSS / 1024;
const recall = Object.fromEntries(test.classes.map((c, i) => [`recall_${c}`, round(test.scores.recall[i])]));
process.stdout.write(`
| figure                          | value |
|---------------------------------|-------|
| test images                     | ${test.count} |
| test accuracy                   | ${test.scores.accuracy.toFixed(3)} |
| test balanced accuracy          | ${test.scores.balancedAccuracy.toFixed(3)} |
| test macro F1                   | ${test.scores.macroF1.toFixed(3)} |
| per-class recall                | ${test.classes.map((c, i) => `${c} ${test.scores.recall[i].toFixed(2)}`).join(', ')} |
| 5-fold CV balanced accuracy     | ${mean(cv).toFixed(3)} ± ${sd(cv).toFixed(3)} |
| features                        | ${run.features.width} wide: output + ${TAPS.length} taps (global averages) |
| head / backend                  | linear softmax, L2 ${chosen.train.weightDecay}, post-hoc tau ${best.tau} (CV-chosen) / TF.js ${backend.name} |
| views K / extraction            | ${views} / ${run.extractSeconds.toFixed(0)} s at ${rate.toFixed(1)} images/s |
| head epoch (cache), median      | ${headEpoch.toFixed(2)} s |
| epoch recomputing backbone (est)| ${recomputeEpoch.toFixed(0)} s (${data.parts.train.length} images / ${rate.toFixed(1)} per s) |
| cache speedup                   | ${(recomputeEpoch / headEpoch).toFixed(0)}x |
| training run (extraction + run) | ${runS.toFixed(0)} s |
| total wall time (with tuning+CV)| ${totalS.toFixed(0)} s |
| peak RSS                        | ${peakRss.toFixed(0)} MB |
| run directory                   | ${final.runDir} |
`);
process.stdout.write(
  `${JSON.stringify({
    balanced_accuracy: round(test.scores.balancedAccuracy),
    accuracy: round(test.scores.accuracy),
    macro_f1: round(test.scores.macroF1),
    ...recall,
    cv_balanced_accuracy_mean: round(mean(cv)),
    cv_balanced_accuracy_sd: round(sd(cv)),
    cache_speedup: Math.round(recomputeEpoch / headEpoch),
    head_epoch_s: round(headEpoch),
    recompute_epoch_s: round(recomputeEpoch),
    extract_images_per_s: round(rate),
    views,
    extract_s: Math.round(run.extractSeconds),
    features_reused: run.extractSeconds === 0,
    posthoc_tau: best.tau,
    tune_cv_balanced_accuracy: round(best.cv.balancedAccuracy),
    tune_cv_accuracy: round(best.cv.accuracy),
    taps: TAPS.length,
    feature_width: run.features.width,
    head_backend: backend.name,
    run_s: Math.round(runS),
    total_s: Math.round(totalS),
    peak_rss_mb: Math.round(peakRss),
    run_dir: final.runDir,
  })}\n`,
);

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

async function measureRate(cfg: TrainConfig): Promise<number> {
  const spec = runPreprocess(cfg, backbone);
  const ids = ['ISIC_0024306', 'ISIC_0024307', 'ISIC_0024308', 'ISIC_0024309'];
  const one = await Promise.all(
    ids.map((id) => decodeImage(join(ROOT, 'HAM10000_images_part_1', `${id}.jpg`), spec)),
  );
  const batch = new Uint8Array(32 * one[0].length);
  for (let i = 0; i < 32; i++) batch.set(one[i % one.length], i * one[0].length);
  const engine = await createFeatureEngine('onnx', buildFeatureExtractor(backbone.model, cfg.model), {
    logger: quiet,
  });
  await engine.run(batch, 32, spec.width);
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await engine.run(batch, 32, spec.width);
    times.push((performance.now() - t0) / 1000);
  }
  await engine.dispose();
  return 32 / median(times);
}
