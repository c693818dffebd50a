import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Dataset, ImageRecord } from '../../src/core/data/records.js';
import { kfoldByGroup, splitByGroup } from '../../src/core/data/split.js';
import { summarizeDataset } from '../../src/core/data/summary.js';
import { loadDataset } from '../../src/node/data/load-dataset.js';

const FULL = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'ham10000');
const SAMPLE = join(import.meta.dirname, '..', '..', 'data', 'sample', 'ham10000');
const haveFull = await access(join(FULL, 'HAM10000_metadata.csv')).then(
  () => true,
  () => false,
);
if (!haveFull) console.warn(`skipping full-HAM10000 tests: ${FULL} is absent (the ../shared checkout)`);

describe('embedded sample (data/sample/ham10000)', () => {
  it('loads all 144 images with image checks and no issues', async () => {
    const ds = await loadDataset(SAMPLE);
    expect(ds.records).toHaveLength(144);
    expect(ds.issues).toEqual([]);
  });
});

describe.skipIf(!haveFull)('full HAM10000 in ../shared', () => {
  let dataset: Dataset;
  const get = async () => {
    dataset ??= await loadDataset(FULL, { checkImages: false });
    return dataset;
  };

  it('has exactly 10,015 images, 7,470 lesions and the published class counts', async () => {
    const s = summarizeDataset(await get());
    expect(s.images).toBe(10015);
    expect(s.groups).toBe(7470);
    expect(Object.fromEntries(s.classes.map((c) => [c.label, c.images]))).toEqual({
      nv: 6705,
      mel: 1113,
      bkl: 1099,
      bcc: 514,
      akiec: 327,
      vasc: 142,
      df: 115,
    });
    expect(s.issues).toEqual({});
  });

  it('hold-out split: lesions never cross parts, class shares within ±2 pp (or ±3 images)', async () => {
    const { records } = await get();
    const split = splitByGroup(records, { val: 0.15, test: 0.15, seed: 42 });
    expectGroupsIntact(records, [split.train, split.val, split.test]);
    const labelOf = new Map(records.map((r) => [r.imageId, r.label]));
    for (const label of ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc']) {
      const total = records.filter((r) => r.label === label).length;
      for (const [ids, ratio] of [
        [split.train, 0.7],
        [split.val, 0.15],
        [split.test, 0.15],
      ] as const) {
        const n = ids.filter((id) => labelOf.get(id) === label).length;
        const ok = Math.abs(n / total - ratio) <= 0.02 || Math.abs(n - ratio * total) <= 3;
        expect(ok, `${label}: ${n} of ${total} vs ratio ${ratio}`).toBe(true);
      }
    }
    expect(splitByGroup(records, { val: 0.15, test: 0.15, seed: 42 })).toEqual(split);
    expect(splitByGroup(records, { val: 0.15, test: 0.15, seed: 43 }).test).not.toEqual(split.test);
  });

  it('5-fold: folds partition the images, lesions stay in one fold, classes spread evenly', async () => {
    const { records } = await get();
    const folds = kfoldByGroup(records, { folds: 5, seed: 42 });
    expect(folds.flat().length).toBe(records.length);
    expectGroupsIntact(records, folds);
    const labelOf = new Map(records.map((r) => [r.imageId, r.label]));
    for (const label of ['df', 'mel', 'nv']) {
      const total = records.filter((r) => r.label === label).length;
      for (const ids of folds) {
        const n = ids.filter((id) => labelOf.get(id) === label).length;
        expect(Math.abs(n / total - 0.2) <= 0.02 || Math.abs(n - total / 5) <= 3).toBe(true);
      }
    }
    expect(kfoldByGroup(records, { folds: 5, seed: 42 })).toEqual(folds);
  });
});

function expectGroupsIntact(records: readonly ImageRecord[], parts: readonly (readonly string[])[]): void {
  const groupOf = new Map(records.map((r) => [r.imageId, r.groupId]));
  const partOf = new Map<string, number>();
  let crossings = 0;
  parts.forEach((ids, p) => {
    for (const id of ids) {
      const g = groupOf.get(id)!;
      if ((partOf.get(g) ?? p) !== p) crossings++;
      partOf.set(g, p);
    }
  });
  expect(crossings).toBe(0);
  expect(new Set(parts.flat()).size).toBe(records.length);
}
