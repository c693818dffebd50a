import { describe, expect, it } from 'vitest';
import type { Dataset, ImageRecord } from '../../../src/core/data/records.js';
import {
  assertSplittable,
  foldAssignment,
  kfoldByGroup,
  splitByGroup,
} from '../../../src/core/data/split.js';
import { at } from '../../../src/core/util/at.js';

/** Synthetic dataset: per class, `lesions` lesions of 1..3 images each. */
function synth(classes: Record<string, number>): ImageRecord[] {
  const out: ImageRecord[] = [];
  for (const [label, lesions] of Object.entries(classes)) {
    for (let l = 0; l < lesions; l++) {
      for (let i = 0; i <= l % 3; i++) {
        out.push({
          imageId: `${label}_${l}_${i}`,
          label,
          groupId: `${label}_L${l}`,
          path: `/x/${label}_${l}_${i}.jpg`,
        });
      }
    }
  }
  return out;
}

const records = synth({ a: 200, b: 60, c: 15 });
const groupOf = new Map(records.map((r) => [r.imageId, r.groupId]));
const labelOf = new Map(records.map((r) => [r.imageId, r.label]));

describe('splitByGroup', () => {
  const split = splitByGroup(records, { val: 0.15, test: 0.15, seed: 7 });

  it('partitions the images and never splits a group', () => {
    const all = [...split.train, ...split.val, ...split.test];
    expect(all.length).toBe(records.length);
    expect(new Set(all).size).toBe(records.length);
    const partOfGroup = new Map<string, string>();
    for (const [part, ids] of Object.entries(split)) {
      for (const id of ids as string[]) {
        const g = groupOf.get(id)!;
        expect(partOfGroup.get(g) ?? part).toBe(part);
        partOfGroup.set(g, part);
      }
    }
  });

  it('stratifies by class close to the ratios', () => {
    for (const label of ['a', 'b', 'c']) {
      const total = records.filter((r) => r.label === label).length;
      for (const [part, ratio] of [
        ['train', 0.7],
        ['val', 0.15],
        ['test', 0.15],
      ] as const) {
        const n = split[part].filter((id) => labelOf.get(id) === label).length;
        expect(Math.abs(n - ratio * total)).toBeLessThanOrEqual(3);
      }
    }
  });

  it('is reproducible for a seed, independent of input order, and varies with the seed', () => {
    expect(splitByGroup([...records].reverse(), { val: 0.15, test: 0.15, seed: 7 })).toEqual(split);
    expect(splitByGroup(records, { val: 0.15, test: 0.15, seed: 8 }).test).not.toEqual(split.test);
  });

  it('allows empty parts and rejects bad ratios', () => {
    const noTest = splitByGroup(records, { val: 0.2, test: 0, seed: 1 });
    expect(noTest.test).toEqual([]);
    expect(() => splitByGroup(records, { val: 0.5, test: 0.5, seed: 1 })).toThrow(
      'expected fractions in [0, 1) that sum below 1 for the split ratios but received val 0.5 and test 0.5; e.g. --val 0.15 --test 0.15',
    );
    expect(() => splitByGroup(records, { val: -0.1, test: 0.1, seed: 1 })).toThrow(/E_SPLIT|split ratios/);
  });

  it('assigns a mixed-label group by its majority label', () => {
    // G counts as a "y" lesion: y's three lesions fill train (G) then val (h, i); as an "x" lesion, G would
    // be alone in its class and h, i would share train and val
    const mixed: ImageRecord[] = [
      { imageId: 'm1', label: 'x', groupId: 'G', path: '' },
      { imageId: 'm2', label: 'y', groupId: 'G', path: '' },
      { imageId: 'm3', label: 'y', groupId: 'G', path: '' },
      { imageId: 'h', label: 'y', groupId: 'H', path: '' },
      { imageId: 'i', label: 'y', groupId: 'I', path: '' },
    ];
    const s = splitByGroup(mixed, { val: 0.3, test: 0, seed: 0 });
    expect(s).toEqual({ train: ['m1', 'm2', 'm3'], val: ['h', 'i'], test: [] });
  });

  it('refuses a part left empty for want of lesions per class, naming the cause and the fix', () => {
    // two lesions per class: each class fills train, then val, and never reaches test
    const two = synth({ a: 2, b: 2 });
    const error = (() => {
      try {
        splitByGroup(two, { val: 0.15, test: 0.15, seed: 42 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ code: 'E_SPLIT' });
    expect((error as Error).message).toBe(
      'expected images in every part with a fraction above 0 for the split of 6 images but received an empty test (0.15) part: ' +
        'too few lesions per class (at most 2 in each of 2 classes; each class is split on its own and needs 3 lesions to reach every part); ' +
        'use more data, or set the fraction of that part to 0',
    );
    expect(splitByGroup(two, { val: 0.15, test: 0, seed: 42 }).val.length).toBeGreaterThan(0);
    expect(splitByGroup([], { val: 0.15, test: 0.15, seed: 42 })).toEqual({ train: [], val: [], test: [] });
  });
});

describe('kfoldByGroup', () => {
  const folds = kfoldByGroup(records, { folds: 5, seed: 3 });

  it('partitions into k stratified folds with groups intact', () => {
    expect(folds).toHaveLength(5);
    const all = folds.flat();
    expect(new Set(all).size).toBe(records.length);
    const foldOfGroup = new Map<string, number>();
    folds.forEach((ids, k) => {
      for (const id of ids) {
        expect(foldOfGroup.get(groupOf.get(id)!) ?? k).toBe(k);
        foldOfGroup.set(groupOf.get(id)!, k);
      }
      const c = ids.filter((id) => labelOf.get(id) === 'c').length;
      expect(Math.abs(c - records.filter((r) => r.label === 'c').length / 5)).toBeLessThanOrEqual(3);
    });
  });

  it('rejects impossible fold counts', () => {
    expect(() => kfoldByGroup(records, { folds: 1, seed: 0 })).toThrow(
      /^expected an integer from 2 to the number of groups \(\d+\) for the k-fold folds but received 1/,
    );
    expect(() => kfoldByGroup(records.slice(0, 3), { folds: 5, seed: 0 })).toThrow(/number of groups \(2\)/);
  });

  it('refuses empty folds when no class has a lesion for every fold, saying how many folds fit', () => {
    // 8 classes of 3 lesions: every class fills folds 0-2 and none reaches folds 3 and 4
    const small = synth({ a: 3, b: 3, c: 3, d: 3, e: 3, f: 3, g: 3, h: 3 });
    expect(() => kfoldByGroup(small, { folds: 5, seed: 42 })).toThrow(
      expect.objectContaining({
        code: 'E_SPLIT',
        message:
          'expected images in every fold for the 5-fold split of 48 images but received empty folds 3, 4: too few lesions per class ' +
          '(at most 3 in each of 8 classes; each class is split on its own and needs 5 lesions to reach every fold); use at most 3 --folds, or more data',
      }),
    );
    expect(kfoldByGroup(small, { folds: 3, seed: 42 }).every((fold) => fold.length > 0)).toBe(true);
  });

  it('foldAssignment makes fold k the test part and splits the rest into train/val by group', () => {
    const a = foldAssignment(records, folds, 2, { val: 0.2, seed: 3 });
    expect(a.test).toEqual([...at(folds, 2)].sort());
    expect(a.train.length + a.val.length + a.test.length).toBe(records.length);
    const testGroups = new Set(a.test.map((id) => groupOf.get(id)));
    for (const id of [...a.train, ...a.val]) expect(testGroups.has(groupOf.get(id))).toBe(false);
    expect(() => foldAssignment(records, folds, 5, { val: 0.2, seed: 3 })).toThrow(
      'expected a fold from 0 to 4 for the k-fold split but received 5; choose one of its folds',
    );
  });
});

describe('assertSplittable', () => {
  const grouped: Dataset = {
    root: '/d',
    format: 'generic-csv',
    grouping: { by: 'column', column: 'lesion' },
    classes: ['a', 'b', 'c'],
    records,
    issues: [],
  };
  const ungrouped: Dataset = {
    ...grouped,
    grouping: { by: 'image', reason: 'x.csv has no group (lesion) column', searched: ['lesion', 'patient'] },
  };

  it('passes a grouped dataset and a confirmed image-grouped one', () => {
    expect(() => assertSplittable(grouped)).not.toThrow();
    expect(() => assertSplittable(ungrouped, { groupBy: 'image' })).not.toThrow();
  });

  it('refuses image-level grouping unless confirmed, naming the columns looked for (issue #11 item 4)', () => {
    expect(() => assertSplittable(ungrouped)).toThrow(
      'expected a lesion grouping (a lesion/patient column) for /d but received no lesion grouping: x.csv has no group (lesion) column (looked for lesion, patient), so each image would be its own group ' +
        "and one lesion's images could land in both train and test; name the lesion/patient column (--group-column NAME) " +
        'or confirm image-level grouping with --group-by image',
    );
    expect(() => assertSplittable(ungrouped, { confirm: 'data.groupBy: "image"' })).toThrow(
      /confirm image-level grouping with data.groupBy: "image"$/,
    );
    expect(() => assertSplittable(grouped, { groupBy: 'image' })).toThrow(
      /groups images by its "lesion" column, which keeps each lesion in one part; drop --group-by image/,
    );
  });

  it('refuses a dataset without usable images, saying why (issue #11 item 10)', () => {
    expect(() => assertSplittable({ ...grouped, records: [] })).toThrow(
      /^expected usable images to split for \/d but received none \(the metadata table has no data rows\); fix the data/,
    );
    const issues = [
      { kind: 'missing-image' as const, subject: 'x', detail: '' },
      { kind: 'missing-image' as const, subject: 'y', detail: '' },
      { kind: 'unknown-label' as const, subject: 'z', detail: '' },
      { kind: 'orphan-image' as const, subject: 'w.jpg', detail: '' },
    ];
    expect(() => assertSplittable({ ...grouped, records: [], issues })).toThrow(
      expect.objectContaining({
        code: 'E_DATA_INVALID',
        message: expect.stringContaining('(every row was skipped: 2 missing-image, 1 unknown-label)'),
      }),
    );
  });
});
