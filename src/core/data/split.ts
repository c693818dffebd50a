import { expected } from '../errors.js';
import { at } from '../util/at.js';
import { mulberry32, type Rng, shuffled } from './prng.js';
import type { Dataset, ImageRecord, SplitAssignment } from './records.js';
import { countIssues } from './validate.js';

/**
 * How a split groups images: `auto` uses the dataset's group column (lesion, patient, ...) and refuses a
 * dataset without one; `image` confirms one group per image for such a dataset.
 */
export type GroupBy = 'auto' | 'image';

/** Valid {@link GroupBy} values, for CLI choices and config schemas. */
export const GROUP_BY: readonly GroupBy[] = ['auto', 'image'];

/** Options of {@link assertSplittable}. */
export interface SplittableOptions {
  /** Default `auto`. */
  readonly groupBy?: GroupBy;
  /** How the user confirms image-level grouping where this is called, e.g. `--group-by image`. */
  readonly confirm?: string;
}

/**
 * Throws before a split is drawn when it would be wrong: `E_DATA_INVALID` when the dataset has no usable
 * image (saying why), `E_SPLIT` when its groups are single images (no lesion column) and `groupBy` is not
 * `image`, or when `groupBy` is `image` although the dataset has a group column.
 */
export function assertSplittable(dataset: Dataset, options: SplittableOptions = {}): void {
  const { groupBy = 'auto', confirm = '--group-by image' } = options;
  if (dataset.records.length === 0) {
    throw expected({
      what: 'usable images to split',
      where: dataset.root,
      received: `none (${whyEmpty(dataset)})`,
      fix: `fix the data (\`lesionlab inspect ${dataset.root}\` lists the problems) and split again`,
      code: 'E_DATA_INVALID',
    });
  }
  const { grouping } = dataset;
  if (grouping.by === 'image' && groupBy !== 'image') {
    const looked = grouping.searched ? ` (looked for ${grouping.searched.join(', ')})` : '';
    throw expected({
      what: 'a lesion grouping (a lesion/patient column)',
      where: dataset.root,
      received: `no lesion grouping: ${grouping.reason}${looked}, so each image would be its own group and one lesion's images could land in both train and test`,
      fix: `name the lesion/patient column (--group-column NAME) or confirm image-level grouping with ${confirm}`,
      code: 'E_SPLIT',
    });
  }
  if (grouping.by === 'column' && groupBy === 'image') {
    throw expected({
      what: 'data without a lesion column for grouping by image',
      where: dataset.root,
      received: `a dataset that groups images by its "${grouping.column}" column, which keeps each lesion in one part`,
      fix: `drop ${confirm}`,
      code: 'E_SPLIT',
    });
  }
}

const PARTS = ['train', 'val', 'test'] as const;

/** Hold-out split options: fractions of images for validation and test, and the seed. */
export interface SplitOptions {
  readonly val: number;
  readonly test: number;
  readonly seed: number;
}

/** K-fold options: number of folds and the seed. */
export interface KFoldOptions {
  readonly folds: number;
  readonly seed: number;
}

interface Group {
  readonly id: string;
  readonly label: string;
  readonly imageIds: readonly string[];
}

/** Why a dataset has no records: no data rows at all, or the issues that skipped every row. */
function whyEmpty(dataset: Dataset): string {
  const rowIssues = dataset.issues.filter((i) => i.kind !== 'orphan-image');
  const orphans = dataset.issues.length - rowIssues.length;
  if (rowIssues.length === 0)
    return `the metadata table has no data rows${orphans > 0 ? `; no row names any of its ${orphans} image files` : ''}`;
  const counts = Object.entries(countIssues(rowIssues)).map(([k, n]) => `${n} ${k}`);
  return `every row was skipped: ${counts.join(', ')}`;
}

/**
 * Splits records into train/val/test by group (lesion): a group's images always land in one part. Stratified
 * by class (a group's class is its majority label): within each class, groups are shuffled with `seed`, taken
 * largest first, and each goes to the part furthest (relatively) below its target image count. Pure and reproducible.
 */
export function splitByGroup(records: readonly ImageRecord[], options: SplitOptions): SplitAssignment {
  const { val, test, seed } = options;
  const ok = (x: number) => Number.isFinite(x) && x >= 0 && x < 1;
  if (!ok(val) || !ok(test) || val + test >= 1) {
    throw expected({
      what: 'fractions in [0, 1) that sum below 1',
      where: 'the split ratios',
      received: `val ${val} and test ${test}`,
      fix: 'e.g. --val 0.15 --test 0.15',
      code: 'E_SPLIT',
    });
  }
  const fractions = [1 - val - test, val, test];
  const parts = assignGroups(records, fractions, seed);
  const empty = PARTS.flatMap((name, i) =>
    at(fractions, i) > 0 && at(parts, i).length === 0 ? [`${name} (${at(fractions, i)})`] : [],
  );
  if (records.length > 0 && empty.length > 0) {
    const needed = fractions.filter((f) => f > 0).length;
    throw expected({
      what: 'images in every part with a fraction above 0',
      where: `the split of ${records.length} images`,
      received: `an empty ${empty.join(' and ')} part: too few lesions per class (${lesionsPerClass(records)}; each class is split on its own and needs ${needed} lesions to reach every part)`,
      fix: 'use more data, or set the fraction of that part to 0',
      code: 'E_SPLIT',
    });
  }
  return { train: at(parts, 0), val: at(parts, 1), test: at(parts, 2) };
}

/**
 * K-fold cross-validation by group, stratified by class like {@link splitByGroup}: returns the test image ids
 * of each fold (the folds partition the records; a group's images stay in one fold).
 */
export function kfoldByGroup(records: readonly ImageRecord[], options: KFoldOptions): string[][] {
  const { folds, seed } = options;
  const groups = new Set(records.map((r) => r.groupId)).size;
  if (!Number.isInteger(folds) || folds < 2 || folds > groups) {
    throw expected({
      what: `an integer from 2 to the number of groups (${groups})`,
      where: 'the k-fold folds',
      received: String(folds),
      fix: 'pass fewer --folds',
      code: 'E_SPLIT',
    });
  }
  const parts = assignGroups(
    records,
    Array.from({ length: folds }, () => 1 / folds),
    seed,
  );
  const empty = parts.flatMap((ids, i) => (ids.length === 0 ? [i] : []));
  if (empty.length > 0) {
    const most = Math.max(...groupsPerClass(records).values());
    throw expected({
      what: 'images in every fold',
      where: `the ${folds}-fold split of ${records.length} images`,
      received: `empty fold${empty.length > 1 ? 's' : ''} ${empty.join(', ')}: too few lesions per class (${lesionsPerClass(records)}; each class is split on its own and needs ${folds} lesions to reach every fold)`,
      fix: `use at most ${most} --folds, or more data`,
      code: 'E_SPLIT',
    });
  }
  return parts;
}

/** Number of groups (lesions) of each class, a group counting for its majority label as in the split. */
function groupsPerClass(records: readonly ImageRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const g of collectGroups(records)) counts.set(g.label, (counts.get(g.label) ?? 0) + 1);
  return counts;
}

/** `at most N lesions in each of C classes`, for the messages of an empty part or fold. */
function lesionsPerClass(records: readonly ImageRecord[]): string {
  const counts = groupsPerClass(records);
  return `at most ${Math.max(...counts.values())} in each of ${counts.size} classes`;
}

/**
 * The hold-out assignment for fold `index` of a k-fold split: that fold is the test part; the remaining
 * records are split by group into train and a `val` fraction of them.
 */
export function foldAssignment(
  records: readonly ImageRecord[],
  foldTestIds: readonly (readonly string[])[],
  index: number,
  options: { readonly val: number; readonly seed: number },
): SplitAssignment {
  if (!Number.isInteger(index) || index < 0 || index >= foldTestIds.length) {
    throw expected({
      what: `a fold from 0 to ${foldTestIds.length - 1}`,
      where: 'the k-fold split',
      received: String(index),
      fix: 'choose one of its folds',
      code: 'E_SPLIT',
    });
  }
  const test = new Set(foldTestIds[index]);
  const rest = records.filter((r) => !test.has(r.imageId));
  const inner = splitByGroup(rest, { val: options.val, test: 0, seed: options.seed + index });
  return { train: inner.train, val: inner.val, test: [...test].sort() };
}

function assignGroups(
  records: readonly ImageRecord[],
  fractions: readonly number[],
  seed: number,
): string[][] {
  const rng = mulberry32(seed);
  const parts: string[][] = fractions.map(() => []);
  const byClass = new Map<string, Group[]>();
  for (const g of collectGroups(records)) {
    const list = byClass.get(g.label);
    if (list) list.push(g);
    else byClass.set(g.label, [g]);
  }
  for (const [, classGroups] of [...byClass].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const groups = orderGroups(classGroups, rng);
    const total = groups.reduce((n, g) => n + g.imageIds.length, 0);
    const filled = fractions.map(() => 0);
    for (const g of groups) {
      const part = furthestBelowTarget(
        fractions.map((f) => f * total),
        filled,
      );
      filled[part] = at(filled, part) + g.imageIds.length;
      at(parts, part).push(...g.imageIds);
    }
  }
  return parts.map((ids) => ids.sort());
}

/** Groups in sorted id order (so the input order never matters), shuffled, then stably largest first. */
function orderGroups(groups: readonly Group[], rng: Rng): Group[] {
  const sorted = [...groups].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return shuffled(sorted, rng).sort((a, b) => b.imageIds.length - a.imageIds.length);
}

/** The part with the largest unfilled share of its target (relative, so large groups spread evenly). */
function furthestBelowTarget(targets: readonly number[], filled: readonly number[]): number {
  let best = -1;
  let bestGap = Number.NEGATIVE_INFINITY;
  for (const [i, target] of targets.entries()) {
    if (target <= 0) continue;
    const gap = (target - at(filled, i)) / target;
    if (gap > bestGap) [best, bestGap] = [i, gap];
  }
  return best;
}

function collectGroups(records: readonly ImageRecord[]): Group[] {
  const map = new Map<string, { ids: string[]; labels: Map<string, number> }>();
  for (const r of records) {
    const g = map.get(r.groupId) ?? { ids: [], labels: new Map<string, number>() };
    g.ids.push(r.imageId);
    g.labels.set(r.label, (g.labels.get(r.label) ?? 0) + 1);
    map.set(r.groupId, g);
  }
  return [...map].map(([id, g]) => ({ id, label: majority(g.labels), imageIds: g.ids }));
}

/** The most frequent label; ties go to the alphabetically first, so the result never depends on order. */
function majority(counts: ReadonlyMap<string, number>): string {
  return at(
    [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
    0,
  )[0];
}
