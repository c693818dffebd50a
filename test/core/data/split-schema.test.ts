import { describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../../src/core/data/records.js';
import {
  assertSplitMatches,
  buildSplitFile,
  datasetFingerprint,
  parseSplitFile,
  selectSplit,
  splitAssignmentOf,
  splitFingerprint,
} from '../../../src/core/data/split-schema.js';

const records: ImageRecord[] = ['c', 'a', 'b', 'd'].map((id, i) => ({
  imageId: id,
  label: i % 2 ? 'nv' : 'mel',
  groupId: `g${id}`,
  path: '',
}));
const dataset = { format: 'ham10000', classes: ['mel', 'nv'] };
const parts = { train: ['a', 'b'], val: ['c'], test: ['d'] };

describe('split files', () => {
  it('fingerprint does not depend on record order but on the ids', () => {
    const f = datasetFingerprint(records);
    expect(f.images).toBe(4);
    expect(datasetFingerprint([...records].reverse())).toEqual(f);
    expect(datasetFingerprint(records.slice(1)).fingerprint).not.toBe(f.fingerprint);
  });

  it('round-trips a hold-out split through JSON', () => {
    const file = buildSplitFile(
      records,
      dataset,
      { kind: 'holdout', seed: 42, val: 0.25, test: 0.25, parts },
      '2026-01-01T00:00:00Z',
    );
    expect(parseSplitFile(JSON.stringify(file), 's.json')).toEqual(file);
    expect(file.dataset.groups).toBe(4);
    expect(file.dataset.grouping).toBeUndefined();
  });

  it('records the grouping: the column, or image-level as confirmed (issue #11 item 4)', () => {
    const split = { kind: 'holdout' as const, seed: 1, val: 0.25, test: 0.25, parts };
    const byColumn = { ...dataset, grouping: { by: 'column' as const, column: 'lesion' } };
    const byImage = { ...dataset, grouping: { by: 'image' as const, reason: 'no column' } };
    const a = buildSplitFile(records, byColumn, split);
    const b = buildSplitFile(records, byImage, split);
    expect(a.dataset.grouping).toEqual({ by: 'column', column: 'lesion' });
    expect(b.dataset.grouping).toEqual({ by: 'image', confirmed: true });
    expect(parseSplitFile(JSON.stringify(b), 's.json')).toEqual(b);
  });

  it('round-trips a k-fold split', () => {
    const file = buildSplitFile(records, dataset, {
      kind: 'kfold',
      seed: 1,
      foldTest: [
        ['a', 'b'],
        ['c', 'd'],
      ],
    });
    const back = parseSplitFile(JSON.stringify(file), 'k.json');
    expect(back.kind === 'kfold' && back.folds).toBe(2);
  });

  it('rejects non-JSON and invalid content with a readable E_SPLIT line', () => {
    expect(() => parseSplitFile('{nope', 's.json')).toThrow(
      /^expected valid JSON for the split file s\.json but received text that does not parse .*lesionlab split/,
    );
    const file = buildSplitFile(records, dataset, {
      kind: 'holdout',
      seed: 42,
      val: 0.25,
      test: 0.25,
      parts,
    });
    expect(() => parseSplitFile(JSON.stringify({ ...file, extra: 1 }), 's.json')).toThrow(
      'expected no other keys at (root) for the split file s.json but received the key "extra"; re-create it with `lesionlab split`',
    );
    expect(() => parseSplitFile(JSON.stringify({ ...file, seed: 'x' }), 's.json')).toThrow(/seed/);
  });

  it('selects records by part, lists unknown ids, and checks the fingerprint', () => {
    const sel = selectSplit(records, { ...parts, test: ['d', 'zz'] });
    expect(sel.train.map((r) => r.imageId)).toEqual(['a', 'b']);
    expect(sel.missing).toEqual(['zz']);
    const file = buildSplitFile(records, dataset, {
      kind: 'holdout',
      seed: 42,
      val: 0.25,
      test: 0.25,
      parts,
    });
    expect(() => assertSplitMatches(file, records, 's.json')).not.toThrow();
    expect(() => assertSplitMatches(file, records.slice(1), 's.json')).toThrow(
      /^expected the dataset it was made for \(4 images, .*\) for the split file s\.json but received a dataset of 3 images/,
    );
  });

  it('fingerprints the matched ids, so the image check mode does not change it', () => {
    // "e" was matched to a file that the image check (e.g. --decode) left out of the records
    const matchedIds = ['a', 'b', 'c', 'd', 'e'];
    const checked = { records, matchedIds };
    expect(splitFingerprint(checked)).toEqual({
      images: 5,
      fingerprint: datasetFingerprint([...records, { imageId: 'e' }]).fingerprint,
    });
    // without a left-out image, the fingerprint is the one of the records, as in split files made before
    expect(splitFingerprint({ records, matchedIds: ['d', 'c', 'b', 'a'] })).toEqual(
      datasetFingerprint(records),
    );
    expect(splitFingerprint({ records })).toEqual(datasetFingerprint(records));
    const file = buildSplitFile(
      records,
      { ...dataset, matchedIds },
      { kind: 'holdout', seed: 42, val: 0.25, test: 0.25, parts },
    );
    expect(file.dataset.images).toBe(5);
    const withE = [...records, { imageId: 'e', label: 'nv', groupId: 'ge', path: '' }];
    expect(() => assertSplitMatches(file, { records: withE, matchedIds }, 's.json')).not.toThrow();
    expect(() => assertSplitMatches(file, checked, 's.json')).not.toThrow();
    expect(() => assertSplitMatches(file, { records }, 's.json')).toThrow(/made for \(5 images/);
    // a file written by the older rule (the readable records only) still matches the dataset it was made for
    const older = buildSplitFile(records, dataset, {
      kind: 'holdout',
      seed: 42,
      val: 0.25,
      test: 0.25,
      parts,
    });
    expect(older.dataset.images).toBe(4);
    expect(() => assertSplitMatches(older, checked, 's.json')).not.toThrow();
  });

  it('turns a split file into train/val/test ids, for k-fold per fold', () => {
    const holdout = buildSplitFile(records, dataset, {
      kind: 'holdout',
      seed: 42,
      val: 0.25,
      test: 0.25,
      parts,
    });
    expect(splitAssignmentOf(holdout, records)).toEqual(parts);
    const kfold = buildSplitFile(records, dataset, {
      kind: 'kfold',
      seed: 1,
      foldTest: [
        ['a', 'b'],
        ['c', 'd'],
      ],
    });
    const fold1 = splitAssignmentOf(kfold, records, { fold: 1, val: 0 });
    expect(fold1).toEqual({ train: ['a', 'b'], val: [], test: ['c', 'd'] });
    expect(() => splitAssignmentOf(kfold, records)).toThrow(
      'expected a fold from 0 to 1 for a k-fold split with 2 folds but received none; choose a fold',
    );
  });
});
