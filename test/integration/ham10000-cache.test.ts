import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../src/core/data/records.js';
import type { PreprocessSpec } from '../../src/core/preprocess/spec.js';
import { at } from '../../src/core/util/at.js';
import { decodeImage } from '../../src/node/preprocess/decode-image.js';
import { prepareImageCache } from '../../src/node/preprocess/prepare-image-cache.js';
import { tempDir } from '../support/image-files.js';

const FULL = resolve(import.meta.dirname, '../../../shared/data/ham10000');
const present = existsSync(join(FULL, 'HAM10000_metadata.csv'));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Every 50th row of the real metadata (about 200 images from both image folders). */
async function someRecords(): Promise<ImageRecord[]> {
  const lines = (await readFile(join(FULL, 'HAM10000_metadata.csv'), 'utf8')).trim().split(/\r?\n/).slice(1);
  const part1 = new Set(await readdir(join(FULL, 'HAM10000_images_part_1')));
  return lines
    .filter((_, i) => i % 50 === 0)
    .map((line) => {
      const cells = line.split(',');
      const [lesion, image, dx] = [at(cells, 0), at(cells, 1), at(cells, 2)];
      const folder = part1.has(`${image}.jpg`) ? 'HAM10000_images_part_1' : 'HAM10000_images_part_2';
      return { imageId: image, label: dx, groupId: lesion, path: join(FULL, folder, `${image}.jpg`) };
    });
}

describe.skipIf(!present)('image cache on the real HAM10000 (../shared/data/ham10000)', () => {
  it('caches ~200 real images exactly as decodeImage makes them', async () => {
    const records = await someRecords();
    const spec: PreprocessSpec = { width: 96, height: 96, resize: 'crop', colorConstancy: true };
    const root = await tempDir();
    dirs.push(root);
    const cache = await prepareImageCache(records, spec, { cacheRoot: root });
    expect(cache.count).toBe(records.length);
    const means: number[] = [];
    for await (const batch of cache.batches({ batchSize: 64 })) {
      for (let k = 0; k < batch.indices.length; k++) {
        const image = batch.pixels.subarray(k * cache.imageBytes, (k + 1) * cache.imageBytes);
        means.push(image.reduce((s, v) => s + v, 0) / image.length);
      }
    }
    expect(means).toHaveLength(records.length);
    expect(Math.min(...means)).toBeGreaterThan(30);
    expect(Math.max(...means)).toBeLessThan(240);
    for (const i of [0, 57, records.length - 1]) {
      const direct = await decodeImage(records.find((r) => r.imageId === cache.ids[i])!.path, spec);
      expect(await cache.readBatch([i])).toEqual(direct);
    }
    await cache.close();
  });
});

if (!present) {
  describe('image cache on the real HAM10000', () => {
    it.skip(`skipped: ${FULL} is absent (the full dataset lives in ../shared/data/ham10000)`, () => {});
  });
}
