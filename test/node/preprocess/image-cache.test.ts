import { mkdir, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../../src/core/data/records.js';
import { isLesionlabError } from '../../../src/core/errors.js';
import type { PreprocessSpec } from '../../../src/core/preprocess/spec.js';
import { at } from '../../../src/core/util/at.js';
import { CACHE_DATA_FILE, CACHE_INDEX_FILE } from '../../../src/node/preprocess/cache-index.js';
import { computeCacheKey } from '../../../src/node/preprocess/cache-key.js';
import { openImageCache } from '../../../src/node/preprocess/image-cache.js';
import { prepareImageCache } from '../../../src/node/preprocess/prepare-image-cache.js';
import { colourOf, tempDir, writeCorrupt, writeImageSet } from '../../support/image-files.js';

const SPEC: PreprocessSpec = { width: 4, height: 3, resize: 'stretch', colorConstancy: false };
const IMAGE_BYTES = 4 * 3 * 3;

let dir: string;
let cacheRoot: string;
let records: ImageRecord[];

beforeEach(async () => {
  dir = await tempDir();
  cacheRoot = join(dir, 'cache');
  records = await writeImageSet(join(dir), 10);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The solid colour of cached image `k` (first pixel). */
const firstPixel = (pixels: Uint8Array, k: number): number[] =>
  Array.from(pixels.slice(k * IMAGE_BYTES, k * IMAGE_BYTES + 3));

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isLesionlabError(error) ? `${error.code}: ${error.message}` : `other: ${String(error)}`;
  }
  return 'no error';
}

describe('prepareImageCache', () => {
  it('builds a cache in sorted id order with the documented index', async () => {
    const progress: number[] = [];
    const cache = await prepareImageCache(records, SPEC, {
      cacheRoot,
      concurrency: 3,
      onProgress: (done) => progress.push(done),
    });
    expect(cache.count).toBe(10);
    expect(cache.ids).toEqual(records.map((r) => r.imageId).sort());
    expect(cache.imageBytes).toBe(IMAGE_BYTES);
    expect(progress.at(-1)).toBe(10);
    const index = JSON.parse(await readFile(join(cache.dir, CACHE_INDEX_FILE), 'utf8'));
    expect(index).toMatchObject({ format: 'lesionlab-image-cache', complete: true, count: 10, spec: SPEC });
    expect(index.layout).toEqual({
      file: 'images.u8',
      dtype: 'uint8',
      order: 'NHWC',
      height: 3,
      width: 4,
      channels: 3,
      imageBytes: 36,
      totalBytes: 360,
    });
    expect((await stat(join(cache.dir, CACHE_DATA_FILE))).size).toBe(360);
    const pixels = await cache.readBatch([3, 0, 9]);
    expect([firstPixel(pixels, 0), firstPixel(pixels, 1), firstPixel(pixels, 2)]).toEqual([
      colourOf(3),
      colourOf(0),
      colourOf(9),
    ]);
    expect(cache.indexOf('img_07')).toBe(7);
    expect(cache.indexOf('nope')).toBe(-1);
    await cache.close();
  });

  it('reuses a matching cache without decoding, and rebuilds when an image changes', async () => {
    const first = await prepareImageCache(records, SPEC, { cacheRoot });
    await first.close();
    const decodes: number[] = [];
    const again = await prepareImageCache([...records].reverse(), SPEC, {
      cacheRoot,
      onProgress: (d) => decodes.push(d),
    });
    expect(again.dir).toBe(first.dir);
    expect(decodes).toEqual([]);
    await again.close();
    await utimes(at(records, 0).path, new Date(), new Date(Date.now() + 60_000));
    const rebuilt = await prepareImageCache(records, SPEC, { cacheRoot });
    expect(rebuilt.dir).not.toBe(first.dir);
    await rebuilt.close();
    const other = await prepareImageCache(records, { ...SPEC, resize: 'crop' }, { cacheRoot });
    expect(other.dir).toMatch(/4x3-crop-n10-[0-9a-f]{16}$/);
    await other.close();
  });

  it('rebuilds when an image is replaced keeping its size and mtime (cp -p, rsync -a)', async () => {
    // img_01 and img_02 are both 95-byte PNGs of different colours; T is a whole second, restored exactly
    const byId = (id: string) => records.find((r) => r.imageId === id)!.path;
    const T = 1_700_000_000;
    await utimes(byId('img_01'), T, T);
    const first = await prepareImageCache(records, SPEC, { cacheRoot });
    await first.close();
    const bytes = await readFile(byId('img_02'));
    expect(bytes.length).toBe((await stat(byId('img_01'))).size);
    await writeFile(byId('img_01'), bytes);
    await utimes(byId('img_01'), T, T);
    expect((await stat(byId('img_01'))).mtimeMs).toBe(T * 1000);
    const rebuilt = await prepareImageCache(records, SPEC, { cacheRoot });
    expect(rebuilt.dir).not.toBe(first.dir);
    expect(rebuilt.fingerprint).not.toBe(first.fingerprint);
    expect(firstPixel(await rebuilt.readBatch([1]), 0)).toEqual(colourOf(2));
    await rebuilt.close();
  });

  it('fails on a corrupt image naming it, leaving no cache folder behind', async () => {
    await writeCorrupt(at(records, 4).path);
    const message = await errorOf(prepareImageCache(records, SPEC, { cacheRoot, concurrency: 2 }));
    expect(message).toMatch(
      new RegExp(
        `^E_BAD_IMAGE: expected an image lesionlab can decode for .*${at(records, 4).imageId}\\.png but received`,
      ),
    );
    expect(await readdir(cacheRoot)).toEqual([]);
  });

  it("ends a bad image's error with the caller's advice on skipping it", async () => {
    await writeCorrupt(at(records, 4).path);
    const advice = 'pass --skip-bad-images to leave bad images out';
    const message = await errorOf(prepareImageCache(records, SPEC, { cacheRoot, skipAdvice: advice }));
    expect(message).toMatch(
      /\.png but received a file it cannot decode \(.*\); replace or remove the file, or pass --skip-bad-images to leave bad images out$/,
    );
  });

  it('skips bad images when asked, keeps the rest contiguous, and remembers what it skipped', async () => {
    await writeCorrupt(at(records, 1).path); // img_08
    await rm(at(records, 6).path); // img_03
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => warnings.push(m) };
    const cache = await prepareImageCache(records, SPEC, { cacheRoot, skipBadImages: true, logger });
    expect(cache.count).toBe(8);
    expect(cache.skipped.map((s) => s.id)).toEqual(['img_03', 'img_08']);
    expect(at(cache.skipped, 0).reason).toMatch(/img_03\.png but received no such file/);
    expect(warnings).toHaveLength(2);
    const all = await cache.readBatch(Array.from({ length: 8 }, (_, i) => i));
    const expected = cache.ids.map((id) => colourOf(Number(id.slice(4))));
    expect(cache.ids.map((_, k) => firstPixel(all, k))).toEqual(expected);
    await cache.close();
    const strict = await errorOf(prepareImageCache(records, SPEC, { cacheRoot }));
    expect(strict).toMatch(
      /^E_MISSING_FILE: expected an image file for .*img_03\.png but received no such file.* \(and 1 more\)$/,
    );
  });

  it('removes an interrupted build of a dead process and replaces an incomplete cache', async () => {
    const key = await computeCacheKey(records, SPEC);
    const stale = join(cacheRoot, `${key.name}.tmp-999999999-0`);
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, CACHE_DATA_FILE), 'partial');
    const cache = await prepareImageCache(records, SPEC, { cacheRoot });
    expect(await readdir(cacheRoot)).toEqual([key.name]);
    await cache.close();
    const index = JSON.parse(await readFile(join(cache.dir, CACHE_INDEX_FILE), 'utf8'));
    await writeFile(join(cache.dir, CACHE_INDEX_FILE), JSON.stringify({ ...index, complete: false }));
    expect(await errorOf(openImageCache(cache.dir))).toMatch(
      /^E_CACHE: expected a complete image cache for .* but received an incomplete one \(an interrupted build\); delete it to rebuild$/,
    );
    const rebuilt = await prepareImageCache(records, SPEC, { cacheRoot });
    expect(rebuilt.count).toBe(10);
    await rebuilt.close();
  });

  it('rejects duplicate image ids and an empty record list', async () => {
    const twice = [...records, { ...at(records, 0), path: at(records, 1).path }];
    expect(await errorOf(prepareImageCache(twice, SPEC, { cacheRoot }))).toMatch(
      /^E_DATA_INVALID: expected unique image ids \(to cache images\) for the dataset but received image id "img_09" twice \(.+\); give each image its own id$/,
    );
    expect(await errorOf(prepareImageCache([], SPEC, { cacheRoot }))).toBe(
      'E_INPUT: expected at least one image record for prepareImageCache but received none; is the dataset empty?',
    );
  });
});

describe('openImageCache', () => {
  it('rejects a folder without an index and a data file of the wrong size', async () => {
    expect(await errorOf(openImageCache(dir))).toMatch(
      /^E_CACHE: expected an image cache index for .*index\.json but received no such file; build it with `lesionlab prepare`$/,
    );
    const cache = await prepareImageCache(records, SPEC, { cacheRoot });
    await cache.close();
    await writeFile(join(cache.dir, CACHE_DATA_FILE), Buffer.alloc(100));
    expect(await errorOf(openImageCache(cache.dir))).toMatch(
      /^E_CACHE: expected 360 bytes \(as its index says\) for .*images\.u8 but received 100 bytes; delete the cache folder to rebuild it$/,
    );
  });

  it('iterates all images in order in chunks, and indexed batches in the given order', async () => {
    const cache = await prepareImageCache(records, SPEC, { cacheRoot });
    const seen: number[] = [];
    const colours: number[][] = [];
    for await (const batch of cache.batches({ batchSize: 3, chunkBytes: 2 * 3 * IMAGE_BYTES })) {
      expect(batch.pixels.length).toBe(batch.indices.length * IMAGE_BYTES);
      seen.push(...batch.indices);
      for (let k = 0; k < batch.indices.length; k++) colours.push(firstPixel(batch.pixels, k));
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(colours).toEqual(seen.map((i) => colourOf(i)));
    const order = [9, 2, 3, 4, 0];
    const picked: number[][] = [];
    for await (const batch of cache.batches({ batchSize: 2, indices: order, fresh: true })) {
      for (let k = 0; k < batch.indices.length; k++) picked.push(firstPixel(batch.pixels, k));
    }
    expect(picked).toEqual(order.map((i) => colourOf(i)));
    expect(cache.indicesOf(['img_02', 'img_05'])).toEqual([2, 5]);
    expect(() => cache.indicesOf(['img_99'])).toThrow(
      /^expected an image id in this cache for image cache .* but received "img_99"; rebuild the cache for this dataset$/,
    );
    await expect(cache.readBatch([10])).rejects.toThrow(
      /^expected an image index from 0 to 9 for image cache .* but received 10$/,
    );
    await cache.close();
    await expect(cache.readBatch([0])).rejects.toThrow(
      /^expected an open image cache for .* but received a closed one; open it again with openImageCache$/,
    );
  });

  it('names the byte where the data file ended when it shrinks after opening', async () => {
    const built = await prepareImageCache(records, SPEC, { cacheRoot });
    const cache = await openImageCache(built.dir);
    await truncate(join(built.dir, CACHE_DATA_FILE), 5 * IMAGE_BYTES);
    expect(await errorOf(cache.readBatch([7]))).toBe(
      `E_CACHE: expected ${IMAGE_BYTES} bytes from byte ${7 * IMAGE_BYTES} for image cache data but received the end of the file at byte ${7 * IMAGE_BYTES}; delete the cache folder to rebuild it`,
    );
    await cache.close();
    await built.close();
  });
});
