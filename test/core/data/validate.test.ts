import { describe, expect, it } from 'vitest';
import type { LabelledRow } from '../../../src/core/data/formats.js';
import {
  assertNoIssues,
  countIssues,
  formatIssues,
  matchRowsToFiles,
} from '../../../src/core/data/validate.js';
import { at } from '../../../src/core/util/at.js';

const row = (imageId: string, line: number): LabelledRow => ({
  imageId,
  label: 'nv',
  groupId: 'g',
  source: `m.csv line ${line}`,
});

describe('matchRowsToFiles', () => {
  it('pairs rows with files and reports duplicates, missing images and orphans', () => {
    const files = new Map([
      ['a', '/d/a.jpg'],
      ['b', '/d/b.jpg'],
      ['z', '/d/z.jpg'],
    ]);
    const { records, issues } = matchRowsToFiles([row('a', 2), row('b', 3), row('a', 4), row('c', 5)], files);
    expect(records.map((r) => [r.imageId, r.path])).toEqual([
      ['a', '/d/a.jpg'],
      ['b', '/d/b.jpg'],
    ]);
    expect(issues.map((i) => [i.kind, i.subject])).toEqual([
      ['duplicate-image-id', 'a'],
      ['missing-image', 'c'],
      ['orphan-image', '/d/z.jpg'],
    ]);
    expect(at(issues, 0).detail).toBe('m.csv line 4: already listed at m.csv line 2');
    expect(matchRowsToFiles([row('a', 2)], files, false).issues).toEqual([]);
  });

  it('takes no file for an orphan that a skipped row names (its row is reported already)', () => {
    const files = new Map([
      ['a', '/d/a.jpg'],
      ['bad', '/d/bad.jpg'],
      ['z', '/d/z.jpg'],
    ]);
    const { issues } = matchRowsToFiles([row('a', 2)], files, true, ['bad']);
    expect(issues.map((i) => [i.kind, i.subject])).toEqual([['orphan-image', '/d/z.jpg']]);
  });
});

describe('issue reports', () => {
  const issues = [
    { kind: 'missing-image' as const, subject: 'x', detail: 'gone' },
    { kind: 'missing-image' as const, subject: 'y', detail: 'gone' },
    { kind: 'bad-row' as const, subject: 'line 3', detail: 'short' },
  ];

  it('counts and formats issues by kind', () => {
    expect(countIssues(issues)).toEqual({ 'missing-image': 2, 'bad-row': 1 });
    expect(formatIssues(issues, 1)).toEqual([
      'missing-image: 2 (e.g. x: gone)',
      'bad-row: 1 (e.g. line 3: short)',
    ]);
  });

  it('strict mode throws one E_DATA_INVALID line with counts and first issues', () => {
    expect(() => assertNoIssues('meta.csv', [])).not.toThrow();
    expect(() => assertNoIssues('meta.csv', issues)).toThrow(
      'expected no data issues (--strict) for meta.csv but received 3 data issues (2 missing-image, 1 bad-row); first: x: gone | y: gone | line 3: short; fix the data or drop --strict to skip bad rows',
    );
  });
});
