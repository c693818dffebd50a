import { expected } from '../errors.js';
import type { LabelledRow } from './formats.js';
import type { DataIssue, ImageRecord } from './records.js';

/** Rows matched to their image files, plus duplicate ids, rows without a file and files without a row. */
export interface MatchResult {
  readonly records: readonly ImageRecord[];
  readonly issues: readonly DataIssue[];
}

/**
 * Pairs rows with image files by image id. Keeps the first row of a duplicated id; reports duplicates,
 * rows whose image is missing, and (when `orphans` is true) files that no row names: neither `rows` nor the
 * rows skipped while reading the table (`skippedIds`, already reported with their reason).
 */
export function matchRowsToFiles(
  rows: readonly LabelledRow[],
  files: ReadonlyMap<string, string>,
  orphans = true,
  skippedIds: readonly string[] = [],
): MatchResult {
  const seen = new Map<string, string>();
  const records: ImageRecord[] = [];
  const issues: DataIssue[] = [];
  for (const row of rows) {
    const first = seen.get(row.imageId);
    if (first !== undefined) {
      issues.push({
        kind: 'duplicate-image-id',
        subject: row.imageId,
        detail: `${row.source}: already listed at ${first}`,
      });
      continue;
    }
    seen.set(row.imageId, row.source);
    const path = files.get(row.imageId);
    if (path === undefined) {
      issues.push({
        kind: 'missing-image',
        subject: row.imageId,
        detail: `${row.source}: no file ${row.imageId}.jpg/.jpeg/.png under the root`,
      });
      continue;
    }
    records.push({
      imageId: row.imageId,
      label: row.label,
      groupId: row.groupId,
      path,
      ...(row.meta ? { meta: row.meta } : {}),
    });
  }
  if (orphans) {
    const skipped = new Set(skippedIds);
    for (const [imageId, path] of files) {
      if (!seen.has(imageId) && !skipped.has(imageId))
        issues.push({ kind: 'orphan-image', subject: path, detail: `no metadata row names ${imageId}` });
    }
  }
  return { records, issues };
}

/** Issue counts by kind, in a fixed order, leaving out kinds that did not occur. */
export function countIssues(issues: readonly DataIssue[]): Partial<Record<DataIssue['kind'], number>> {
  const counts: Partial<Record<DataIssue['kind'], number>> = {};
  for (const issue of issues) counts[issue.kind] = (counts[issue.kind] ?? 0) + 1;
  return counts;
}

/** One line per issue kind with its count and the first `examples` subjects. */
export function formatIssues(issues: readonly DataIssue[], examples = 3): string[] {
  return Object.entries(countIssues(issues)).map(([kind, count]) => {
    const first = issues.filter((i) => i.kind === kind).slice(0, examples);
    return `${kind}: ${count} (e.g. ${first.map((i) => `${i.subject}: ${i.detail}`).join('; ')})`;
  });
}

/**
 * Throws one `E_DATA_INVALID` error summarising counts and the first few issues when there are any; used for
 * `--strict`, where any problem in the data is fatal.
 */
export function assertNoIssues(name: string, issues: readonly DataIssue[]): void {
  if (issues.length === 0) return;
  const counts = Object.entries(countIssues(issues)).map(([k, n]) => `${n} ${k}`);
  const first = issues.slice(0, 3).map((i) => `${i.subject}: ${i.detail}`);
  throw expected({
    what: 'no data issues (--strict)',
    where: name,
    received: `${issues.length} data issue${issues.length > 1 ? 's' : ''} (${counts.join(', ')}); first: ${first.join(' | ')}`,
    fix: 'fix the data or drop --strict to skip bad rows',
    code: 'E_DATA_INVALID',
  });
}
