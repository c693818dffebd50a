import { describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../../src/core/data/records.js';
import { buildSplitFile } from '../../../src/core/data/split-schema.js';
import { selectSplitRecords } from '../../../src/node/evaluate/select.js';

const records: ImageRecord[] = ['a', 'b', 'c'].map((id) => ({
  imageId: id,
  label: 'nv',
  groupId: id,
  path: `/data/${id}.jpg`,
}));
const dataset = { format: 'folders', classes: ['nv'] };

describe('selectSplitRecords', () => {
  it('takes a hold-out part in split order and counts ids the dataset lacks', () => {
    const split = buildSplitFile(records, dataset, {
      kind: 'holdout',
      seed: 1,
      val: 0.3,
      test: 0.3,
      parts: { train: ['a'], val: ['b'], test: ['c', 'gone'] },
    });
    const picked = selectSplitRecords(records, split, 'test');
    expect(picked.records.map((r) => r.imageId)).toEqual(['c']);
    expect(picked.missing).toBe(1);
  });

  it('names the flag, what it found and the fix when there is no split file or a k-fold one', () => {
    expect(() => selectSplitRecords(records, null, 'val')).toThrow(
      'expected a split file (a training run with split.json) for --split val but received none (the target is not a training run with split.json); pass --split all or --split-file <path>',
    );
    const kfold = buildSplitFile(records, dataset, { kind: 'kfold', seed: 1, foldTest: [['a'], ['b', 'c']] });
    expect(() => selectSplitRecords(records, kfold, 'test')).toThrow(
      expect.objectContaining({
        code: 'E_SPLIT',
        message:
          'expected a hold-out split file for --split test but received a 2-fold split file; pass --split all',
      }),
    );
  });
});
