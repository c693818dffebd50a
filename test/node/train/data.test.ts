import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../../src/core/config/train-config.js';
import { splitByGroup } from '../../../src/core/data/split.js';
import { buildSplitFile } from '../../../src/core/data/split-schema.js';
import { silentLogger } from '../../../src/core/logger.js';
import { at } from '../../../src/core/util/at.js';
import { loadDataset } from '../../../src/node/data/load-dataset.js';
import { writeSplitFile } from '../../../src/node/data/split-file.js';
import { loadRunData } from '../../../src/node/train/data.js';
import { makeTree } from '../../support/dataset-tree.js';

const SAMPLE = resolve('data/sample/ham10000');
let dir: string;

/** The sample as a generic CSV without any lesion column (image, label only), images linked in. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lesionlab-train-data-'));
  const rows = (await readFile(join(SAMPLE, 'HAM10000_metadata.csv'), 'utf8')).trim().split('\n').slice(1);
  const csv = ['image,diagnosis', ...rows.map((r) => `${r.split(',')[1]},${r.split(',')[2]}`)].join('\n');
  await writeFile(join(dir, 'labels.csv'), `${csv}\n`);
  for (const part of ['HAM10000_images_part_1', 'HAM10000_images_part_2'])
    await symlink(join(SAMPLE, part), join(dir, part));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadRunData: lesion grouping of a drawn split', () => {
  it('refuses data without a lesion column unless data.groupBy is "image"', async () => {
    const config = (groupBy: string) =>
      parseTrainConfig({ data: { root: join(dir, 'labels.csv'), groupBy } }, 'test');
    await expect(loadRunData(config('auto'), { logger: silentLogger })).rejects.toThrow(
      /no lesion grouping.*data\.groupBy: "image" in the config/,
    );
    const data = await loadRunData(config('image'), { logger: silentLogger });
    expect(data.parts.train.length + data.parts.val.length + data.parts.test.length).toBe(144);
  });

  it('keeps drawing lesion-grouped splits of HAM10000 with no setting', async () => {
    const data = await loadRunData(parseTrainConfig({ data: { root: SAMPLE } }, 'test'), {
      logger: silentLogger,
    });
    const { train, val, test } = data.parts;
    expect(train.length + val.length + test.length).toBe(144);
    expect(Math.min(train.length, val.length, test.length)).toBeGreaterThan(0);
    // grouped by lesion_id: no lesion has images in two parts, and some lesions have several images
    const lesions = [train, val, test].map((part) => new Set(part.map((r) => r.groupId)));
    for (const [a, b] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const)
      expect([...at(lesions, a)].filter((g) => at(lesions, b).has(g))).toEqual([]);
    expect(lesions.reduce((n, set) => n + set.size, 0)).toBeLessThan(144);
  });
});

describe('loadRunData: a split file made with another image check', () => {
  it('accepts a split made with split --decode or --no-check-images (same fingerprint)', async () => {
    const noise = Buffer.alloc(64 * 64 * 3).map((_, i) => (i * 7919) % 251);
    const full = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer();
    const labels = ['mel', 'nv', 'mel', 'nv', 'mel', 'nv', 'mel', 'nv', 'mel', 'nv'];
    const files: Record<string, string | Buffer> = {
      'HAM10000_metadata.csv': `lesion_id,image_id,dx\n${labels.map((dx, i) => `L${i},ISIC_${i},${dx}`).join('\n')}\n`,
    };
    for (const i of labels.keys()) files[`img/ISIC_${i}.jpg`] = 'jpeg';
    files['img/ISIC_0.jpg'] = full.subarray(0, full.length >> 1); // header intact, data cut: only --decode drops it
    files['img/ISIC_1.jpg'] = 'not an image'; // the header check drops it, --no-check-images keeps it
    const root = await makeTree(files);
    try {
      for (const checkImages of ['decode', false] as const) {
        const dataset = await loadDataset(root, { checkImages });
        const seed = 42;
        const parts = splitByGroup(dataset.records, { val: 0.2, test: 0.2, seed });
        const splitFile = join(root, `split-${checkImages}.json`);
        await writeSplitFile(
          splitFile,
          buildSplitFile(dataset.records, dataset, { kind: 'holdout', seed, val: 0.2, test: 0.2, parts }),
        );
        const config = parseTrainConfig({ data: { root, splitFile, val: 0.2, test: 0.2 } }, 'test');
        const data = await loadRunData(config, { logger: silentLogger });
        const used = [...data.parts.train, ...data.parts.val, ...data.parts.test].map((r) => r.imageId);
        expect(used).not.toContain('ISIC_1');
        expect(used.length).toBe(checkImages === 'decode' ? 8 : 9);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
