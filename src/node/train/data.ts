import { join } from 'node:path';
import type { TrainConfig } from '../../core/config/train-config.js';
import { countLabels, labelIndices } from '../../core/data/class-index.js';
import type { Dataset, ImageRecord, SplitAssignment } from '../../core/data/records.js';
import { assertSplittable, splitByGroup } from '../../core/data/split.js';
import {
  assertSplitMatches,
  buildSplitFile,
  type SplitFile,
  selectSplit,
} from '../../core/data/split-schema.js';
import { expected } from '../../core/errors.js';
import type { Logger, ProgressHook } from '../../core/logger.js';
import { posthocOffset } from '../../core/train/head-recipe.js';
import { type LesionMetadata, parseLesionMetadata } from '../../core/train/metadata.js';
import { loadDataset } from '../data/load-dataset.js';
import { readSplitFile, writeSplitFile } from '../data/split-file.js';
import { RUN_FILES } from './run-dir.js';

/** The dataset and its hold-out split, with each part's records and class indices. */
export interface PreparedData {
  readonly dataset: Dataset;
  readonly classes: readonly string[];
  readonly split: SplitFile;
  readonly parts: {
    readonly train: ImageRecord[];
    readonly val: ImageRecord[];
    readonly test: ImageRecord[];
  };
}

/**
 * Loads the dataset and draws (or reads) its lesion-grouped split, writing the split file into the run
 * directory. A split file from an earlier run (`data.splitFile`, or the run's own on resume) is checked
 * against the dataset's fingerprint.
 */
export async function prepareRunData(
  config: TrainConfig,
  runDir: string,
  options: { logger: Logger; onProgress?: ProgressHook; reuseSplit?: boolean },
): Promise<PreparedData> {
  const splitPath = options.reuseSplit ? join(runDir, RUN_FILES.split) : undefined;
  const data = await loadRunData(config, { ...options, splitPath });
  await writeSplitFile(join(runDir, RUN_FILES.split), data.split);
  return data;
}

/**
 * Loads the dataset and draws its lesion-grouped split, or reads the split file `splitPath` (default
 * `data.splitFile`) and checks it against the dataset's fingerprint; writes nothing, so a run can check its
 * data before it creates its folder.
 */
export async function loadRunData(
  config: TrainConfig,
  options: { logger: Logger; onProgress?: ProgressHook; splitPath?: string },
): Promise<PreparedData> {
  const dataset = await loadDataset(config.data.root, {
    ...(config.data.format ? { format: config.data.format } : {}),
    logger: options.logger,
    onProgress: options.onProgress,
  });
  const splitPath = options.splitPath ?? config.data.splitFile;
  const split = splitPath ? await readSplitFile(splitPath) : drawSplit(dataset, config);
  if (split.kind !== 'holdout') {
    throw expected({
      what: 'a hold-out split (training needs one)',
      where: `the split file ${splitPath}`,
      received: 'a k-fold split',
      fix: 'make one with lesionlab split without --folds',
      code: 'E_SPLIT',
    });
  }
  if (splitPath) assertSplitMatches(split, dataset, splitPath);
  const parts = selectSplit(dataset.records, split.parts);
  if (parts.train.length === 0 || parts.val.length === 0) {
    throw expected({
      what: 'at least one training and one validation image',
      where: `the split of ${config.data.root}`,
      received: `${parts.train.length} training and ${parts.val.length} validation images`,
      fix: 'use a larger dataset or other data.val/data.test ratios',
      code: 'E_SPLIT',
    });
  }
  return { dataset, classes: dataset.classes, split, parts };
}

/**
 * The data without the images the image cache left out as undecodable (`data.skipBadImages`), with one
 * warning naming them; `E_SPLIT` when too few training or validation images remain.
 */
export function withoutSkipped(
  data: PreparedData,
  skipped: readonly { readonly id: string }[],
  logger: Logger,
): PreparedData {
  if (skipped.length === 0) return data;
  const bad = new Set(skipped.map((s) => s.id));
  const keep = (records: ImageRecord[]) => records.filter((r) => !bad.has(r.imageId));
  const parts = { train: keep(data.parts.train), val: keep(data.parts.val), test: keep(data.parts.test) };
  const ids = skipped.map((s) => s.id);
  const more = ids.length > 10 ? ` and ${ids.length - 10} more` : '';
  logger.warn(
    `${ids.length} undecodable images left out of training, validation and test (data.skipBadImages): ${ids.slice(0, 10).join(', ')}${more}`,
  );
  if (parts.train.length === 0 || parts.val.length === 0) {
    throw expected({
      what: 'at least one training and one validation image',
      where: `the split of ${data.dataset.root} without its ${ids.length} undecodable images`,
      received: `${parts.train.length} training and ${parts.val.length} validation images`,
      fix: 'replace the bad files',
      code: 'E_SPLIT',
    });
  }
  return { ...data, parts };
}

function drawSplit(dataset: Dataset, config: TrainConfig): SplitFile {
  assertSplittable(dataset, { groupBy: config.data.groupBy, confirm: 'data.groupBy: "image" in the config' });
  const parts: SplitAssignment = splitByGroup(dataset.records, {
    val: config.data.val,
    test: config.data.test,
    seed: config.seed,
  });
  return buildSplitFile(dataset.records, dataset, {
    kind: 'holdout',
    seed: config.seed,
    val: config.data.val,
    test: config.data.test,
    parts,
  });
}

/** Lesion metadata (age, sex, anatomical site; never `dx_type`) of each record, from its source row. */
export function recordMetadata(records: readonly ImageRecord[]): LesionMetadata[] {
  return records.map((r) => parseLesionMetadata(r.meta));
}

/** The run's post-hoc logit offset, from the training split's class counts (undefined without one). */
export function trainingOffset(
  config: TrainConfig,
  data: Pick<PreparedData, 'parts' | 'classes'>,
): Float32Array | undefined {
  return posthocOffset(
    config,
    countLabels(labelIndices(data.parts.train, data.classes), data.classes.length),
  );
}
