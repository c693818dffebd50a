import { z } from 'zod';
import { issueProblem } from '../config/zod-issue.js';
import { expected } from '../errors.js';
import { parseJsonText } from '../json-text.js';
import { at } from '../util/at.js';
import { fnv1a64 } from './prng.js';
import type { Dataset, DatasetGrouping, ImageRecord, SplitAssignment } from './records.js';
import { foldAssignment } from './split.js';

const Ids = z.array(z.string().min(1));

const DatasetInfo = z
  .object({
    format: z.string(),
    images: z.number().int().nonnegative(),
    groups: z.number().int().nonnegative(),
    /**
     * `fnv1a64` of the sorted image ids joined by newlines: the ids of the rows matched to image files, before
     * the image check (see `Dataset.matchedIds`); `images` counts them.
     */
    fingerprint: z.string().regex(/^[0-9a-f]{16}$/),
    classes: z.array(z.string()),
    /** How images were grouped: by a column (e.g. lesion_id) or one per image, confirmed by the user. */
    grouping: z
      .discriminatedUnion('by', [
        z.object({ by: z.literal('column'), column: z.string().min(1) }).strict(),
        z.object({ by: z.literal('image'), confirmed: z.literal(true) }).strict(),
      ])
      .optional(),
  })
  .strict();

const Common = {
  format: z.literal('lesionlab-split'),
  version: z.literal(1),
  seed: z.number().int(),
  dataset: DatasetInfo,
  createdAt: z.string(),
};

/** A split file: a hold-out split (train/val/test ids) or k-fold (test ids per fold), with what made it. */
export const SplitFileSchema = z.discriminatedUnion('kind', [
  z
    .object({
      ...Common,
      kind: z.literal('holdout'),
      ratios: z.object({ val: z.number().min(0).max(1), test: z.number().min(0).max(1) }).strict(),
      parts: z.object({ train: Ids, val: Ids, test: Ids }).strict(),
    })
    .strict(),
  z
    .object({
      ...Common,
      kind: z.literal('kfold'),
      folds: z.number().int().min(2),
      foldTest: z.array(Ids).min(2),
    })
    .strict(),
]);

/** The parsed content of a split file. */
export type SplitFile = z.infer<typeof SplitFileSchema>;

/** Identifies a dataset's image set: count and a hash of the sorted image ids. */
export function datasetFingerprint(records: readonly Pick<ImageRecord, 'imageId'>[]): {
  images: number;
  fingerprint: string;
} {
  return idsFingerprint(records.map((r) => r.imageId));
}

/** A dataset as its split file's fingerprint sees it: its records and, when known, its matched ids. */
export type FingerprintSource = Pick<Dataset, 'records' | 'matchedIds'>;

/**
 * The fingerprint a split file records for `dataset`: of its matched ids when known (so it does not depend on
 * which images the image check left out), else of its records; {@link datasetFingerprint} of the records is
 * the same value when no image was left out.
 */
export function splitFingerprint(dataset: FingerprintSource): { images: number; fingerprint: string } {
  return dataset.matchedIds ? idsFingerprint(dataset.matchedIds) : datasetFingerprint(dataset.records);
}

function idsFingerprint(imageIds: readonly string[]): { images: number; fingerprint: string } {
  const ids = [...imageIds].sort();
  return { images: ids.length, fingerprint: fnv1a64(ids.join('\n')) };
}

/**
 * Builds the split-file object describing `records` and their split (hold-out or k-fold); the fingerprint is
 * of `dataset.matchedIds` when given (see {@link splitFingerprint}), else of `records`.
 */
export function buildSplitFile(
  records: readonly ImageRecord[],
  dataset: {
    readonly format: string;
    readonly classes: readonly string[];
    readonly grouping?: DatasetGrouping;
    readonly matchedIds?: readonly string[];
  },
  split:
    | {
        readonly kind: 'holdout';
        readonly seed: number;
        readonly val: number;
        readonly test: number;
        readonly parts: SplitAssignment;
      }
    | { readonly kind: 'kfold'; readonly seed: number; readonly foldTest: readonly (readonly string[])[] },
  createdAt = new Date().toISOString(),
): SplitFile {
  const info = {
    format: dataset.format,
    groups: new Set(records.map((r) => r.groupId)).size,
    classes: [...dataset.classes],
    ...splitFingerprint({ records, matchedIds: dataset.matchedIds }),
    ...groupingInfo(dataset.grouping),
  };
  const common = {
    format: 'lesionlab-split' as const,
    version: 1 as const,
    seed: split.seed,
    dataset: info,
    createdAt,
  };
  if (split.kind === 'kfold') {
    return {
      ...common,
      kind: 'kfold',
      folds: split.foldTest.length,
      foldTest: split.foldTest.map((f) => [...f]),
    };
  }
  const { train, val, test } = split.parts;
  return {
    ...common,
    kind: 'holdout',
    ratios: { val: split.val, test: split.test },
    parts: { train: [...train], val: [...val], test: [...test] },
  };
}

function groupingInfo(grouping: DatasetGrouping | undefined) {
  if (grouping === undefined) return {};
  return grouping.by === 'column'
    ? { grouping: { by: 'column' as const, column: grouping.column } }
    : { grouping: { by: 'image' as const, confirmed: true as const } };
}

/** Parses split-file JSON text; `name` appears in the error for an invalid file. */
export function parseSplitFile(text: string, name: string): SplitFile {
  const json = parseJsonText(text, {
    where: `the split file ${name}`,
    fix: 'is this a split file made by `lesionlab split`?',
    code: 'E_SPLIT',
  });
  const parsed = SplitFileSchema.safeParse(json);
  if (!parsed.success) {
    const first = at(parsed.error.issues, 0);
    const problem = issueProblem(first, json);
    throw expected({
      what: `${problem.what} at ${problem.key}`,
      where: `the split file ${name}`,
      received: problem.received,
      fix: 're-create it with `lesionlab split`',
      code: 'E_SPLIT',
    });
  }
  return parsed.data;
}

/** Records of each part of a hold-out assignment, with ids the split names that the records lack. */
export interface SplitRecords {
  readonly train: ImageRecord[];
  readonly val: ImageRecord[];
  readonly test: ImageRecord[];
  readonly missing: string[];
}

/** Picks the records of each part of `assignment`; ids absent from `records` are listed in `missing`. */
export function selectSplit(records: readonly ImageRecord[], assignment: SplitAssignment): SplitRecords {
  const byId = new Map(records.map((r) => [r.imageId, r]));
  const missing: string[] = [];
  const pick = (ids: readonly string[]) =>
    ids.flatMap((id) => {
      const r = byId.get(id);
      if (!r) missing.push(id);
      return r ? [r] : [];
    });
  return { train: pick(assignment.train), val: pick(assignment.val), test: pick(assignment.test), missing };
}

/**
 * Throws `E_SPLIT` when a split file was made for another image set than `dataset` (a loaded dataset, compared
 * by {@link splitFingerprint}, or bare records). A loaded dataset also matches a file fingerprinted by the
 * older rule (its readable records only), so split files written before `matchedIds` keep working.
 */
export function assertSplitMatches(
  split: SplitFile,
  dataset: FingerprintSource | readonly ImageRecord[],
  name: string,
): void {
  const now = isRecords(dataset) ? datasetFingerprint(dataset) : splitFingerprint(dataset);
  if (now.fingerprint === split.dataset.fingerprint) return;
  if (!isRecords(dataset) && datasetFingerprint(dataset.records).fingerprint === split.dataset.fingerprint)
    return;
  throw expected({
    what: `the dataset it was made for (${split.dataset.images} images, fingerprint ${split.dataset.fingerprint})`,
    where: `the split file ${name}`,
    received: `a dataset of ${now.images} images (fingerprint ${now.fingerprint})`,
    fix: 're-run `lesionlab split` on this dataset',
    code: 'E_SPLIT',
  });
}

function isRecords(x: FingerprintSource | readonly ImageRecord[]): x is readonly ImageRecord[] {
  return Array.isArray(x);
}

/**
 * The train/val/test image ids a split file stands for: a hold-out file's parts, or for a k-fold file fold
 * `fold` as test and the rest split by lesion into train and `val` (default 0.15) with the file's seed.
 */
export function splitAssignmentOf(
  split: SplitFile,
  records: readonly ImageRecord[],
  options: { readonly fold?: number; readonly val?: number } = {},
): SplitAssignment {
  if (split.kind === 'holdout') return split.parts;
  if (options.fold === undefined) {
    throw expected({
      what: `a fold from 0 to ${split.folds - 1}`,
      where: `a k-fold split with ${split.folds} folds`,
      received: 'none',
      fix: 'choose a fold',
      code: 'E_SPLIT',
    });
  }
  return foldAssignment(records, split.foldTest, options.fold, {
    val: options.val ?? 0.15,
    seed: split.seed,
  });
}
