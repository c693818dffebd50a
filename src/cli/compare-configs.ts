import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { TrainConfig } from '../core/config/train-config.js';
import type { ImageRecord } from '../core/data/records.js';
import { splitByGroup } from '../core/data/split.js';
import { buildSplitFile } from '../core/data/split-schema.js';
import { expected } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { at } from '../core/util/at.js';
import { type ComparisonResult, compareEvaluations } from '../node/compare/compare.js';
import { loadDataset } from '../node/data/load-dataset.js';
import { writeSplitFile } from '../node/data/split-file.js';
import { evaluateModel } from '../node/evaluate/evaluate.js';
import { resolveTrainConfig } from './flags/train.js';
import { trainWithProgress } from './train.js';

/** What `compare --configs` takes besides the config files: flags that override every config alike. */
export interface CompareConfigsOptions {
  readonly data?: string;
  readonly subset?: number;
  readonly epochs?: number;
  readonly seed?: number;
  readonly weights?: string;
  readonly resamples?: number;
  readonly out: string;
  readonly logger: Logger;
}

/**
 * `compare --configs a.json,b.json`: trains each configuration (its whole recipe, e.g. configs/) on one shared
 * lesion-grouped split, evaluates each on its test part and compares them (metrics with CIs, McNemar).
 * Runs go to `<out>/runs/<config name>`, the split to `<out>/split.json`.
 */
export async function compareConfigs(
  files: readonly string[],
  options: CompareConfigsOptions,
): Promise<ComparisonResult> {
  const configs = await resolveConfigs(files, options);
  const out = resolve(options.out);
  await mkdir(out, { recursive: true });
  const splitFile = await writeSharedSplit(at(configs, 0).config, options.subset, join(out, 'split.json'));
  options.logger.info(`comparing ${configs.map((c) => c.name).join(', ')} on one split: ${splitFile}`);
  const evaluations: string[] = [];
  for (const { name, config } of configs) {
    options.logger.info(`[${name}] training ${config.model.backbone} (${config.train.epochs} epochs max)`);
    const run = await trainWithProgress({
      ...config,
      data: { ...config.data, splitFile },
      output: { runsDir: join(out, 'runs'), name },
    });
    if (!run.bundleDir) {
      throw expected({
        what: 'a finished training run',
        where: name,
        received: `${run.runDir}, which did not finish`,
        fix: 'see its train.log',
        code: 'E_RUN',
      });
    }
    const evaluation = await evaluateModel({
      target: run.runDir,
      split: 'test',
      bootstrap: options.resamples ? { resamples: options.resamples } : undefined,
      screenshot: false,
      logger: options.logger,
    });
    evaluations.push(evaluation.outDir);
  }
  return compareEvaluations(evaluations, out);
}

/** Each file through the config schema with the shared flags applied; names must differ, data must agree. */
async function resolveConfigs(files: readonly string[], options: CompareConfigsOptions) {
  if (files.length < 2) {
    throw expected({
      what: 'at least two config files',
      where: '--configs',
      received: `${files.length}`,
      fix: 'e.g. --configs configs/seed-densenet121.json,configs/best-mobilenet-v1.json',
      code: 'E_CONFIG',
    });
  }
  const flags = {
    data: options.data,
    epochs: options.epochs?.toString(),
    seed: options.seed?.toString(),
    weights: options.weights,
  };
  // In file order, so the error names the first bad file whatever the disk's timing.
  const configs: { name: string; config: TrainConfig }[] = [];
  for (const file of files) {
    configs.push({
      name: basename(file).replace(/\.json$/i, ''),
      config: await resolveTrainConfig({ ...flags, config: file }),
    });
  }
  const names = configs.map((c) => c.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) {
    throw expected({
      what: 'files with different names (each names its run folder)',
      where: '--configs',
      received: `two files named ${twice}.json`,
      fix: 'rename one',
      code: 'E_CONFIG',
    });
  }
  const roots = new Set(configs.map((c) => resolve(c.config.data.root)));
  if (roots.size > 1) {
    throw expected({
      what: 'files that read one dataset',
      where: '--configs',
      received: `files reading ${[...roots].join(', ')}`,
      fix: 'pass --data to compare them on one dataset',
      code: 'E_CONFIG',
    });
  }
  return configs;
}

/** One lesion-grouped split for every config (of a class-stratified subset of about `subset` images). */
async function writeSharedSplit(
  config: TrainConfig,
  subset: number | undefined,
  path: string,
): Promise<string> {
  const dataset = await loadDataset(config.data.root, { format: config.data.format, checkImages: false });
  const pool = subset ? subsetOf(dataset.records, subset, config.seed) : dataset.records;
  const parts = splitByGroup(pool, { val: config.data.val, test: config.data.test, seed: config.seed });
  const split = buildSplitFile(dataset.records, dataset, {
    kind: 'holdout',
    seed: config.seed,
    val: config.data.val,
    test: config.data.test,
    parts,
  });
  await writeSplitFile(path, split);
  return path;
}

/** About `n` images of whole lesions, class-stratified (the test part of a group split), as `compare --subset`. */
function subsetOf(records: readonly ImageRecord[], n: number, seed: number): ImageRecord[] {
  if (n >= records.length) return [...records];
  const part = splitByGroup(records, { val: 0, test: Math.max(n / records.length, 1e-6), seed });
  const keep = new Set(part.test);
  return records.filter((r) => keep.has(r.imageId));
}
