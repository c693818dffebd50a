import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../../src/core/data/records.js';
import {
  formatParts,
  formatSummary,
  summarizeDataset,
  summarizeParts,
} from '../../../src/core/data/summary.js';

const dataset: Dataset = {
  root: '/d',
  format: 'ham10000',
  grouping: { by: 'column', column: 'lesion_id' },
  classes: ['mel', 'nv', 'df'],
  records: [
    { imageId: 'a', label: 'nv', groupId: 'L1', path: '' },
    { imageId: 'b', label: 'nv', groupId: 'L1', path: '' },
    { imageId: 'c', label: 'nv', groupId: 'L2', path: '' },
    { imageId: 'd', label: 'mel', groupId: 'L3', path: '' },
  ],
  issues: [{ kind: 'missing-image', subject: 'e', detail: 'x' }],
};

describe('summarizeDataset', () => {
  it('counts images and lesions per class and images per lesion', () => {
    const s = summarizeDataset(dataset);
    expect(s.images).toBe(4);
    expect(s.groups).toBe(3);
    expect(s.classes).toEqual([
      { label: 'mel', images: 1, groups: 1 },
      { label: 'nv', images: 3, groups: 2 },
      { label: 'df', images: 0, groups: 0 },
    ]);
    expect(s.imagesPerGroup).toEqual({ 1: 2, 2: 1 });
    expect(s.issues).toEqual({ 'missing-image': 1 });
    const text = formatSummary(s).join('\n');
    expect(text).toContain('4 images, 3 lesions/groups');
    expect(text).toMatch(/nv\s+3\s+2\s+75.0/);
    expect(text).toContain('images per lesion: 1×2  2×1');
    expect(text).toContain('groups: by column "lesion_id"');
  });

  it('says loudly when there is no lesion grouping (issue #11 item 4)', () => {
    const ungrouped: Dataset = {
      ...dataset,
      grouping: {
        by: 'image',
        reason: 'x.csv has no group (lesion) column',
        searched: ['lesion', 'patient'],
      },
    };
    const text = formatSummary(summarizeDataset(ungrouped)).join('\n');
    expect(text).toContain(
      'groups: NONE, one per image (x.csv has no group (lesion) column; looked for lesion, patient); splits need --group-column or --group-by image',
    );
  });

  it('counts each part of a split per class', () => {
    const parts = summarizeParts(dataset.records, { train: ['a', 'b', 'c'], test: ['d'] });
    expect(parts).toEqual([
      { part: 'train', images: 3, groups: 2, perClass: { nv: 3 } },
      { part: 'test', images: 1, groups: 1, perClass: { mel: 1 } },
    ]);
    expect(formatParts(parts, dataset.classes)[1]).toMatch(/^train\s+3\s+2\s+0\s+3\s+0$/);
  });
});
