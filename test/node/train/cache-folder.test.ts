import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  extractInBatches,
  keyedCacheDir,
  readCompleteIndex,
  writeCacheFolder,
} from '../../../src/node/train/cache-folder.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-cache-folder-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('keyedCacheDir', () => {
  it('names the folder by the first 16 hex digits of sha256(JSON key), so existing caches keep their folder', () => {
    const key = { backbone: 'tiny', views: ['identity'] };
    const digest = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
    expect(keyedCacheDir('/r', 'features', 'tiny', key)).toBe(join('/r', 'features', `tiny-${digest}`));
    expect(keyedCacheDir('/r', 'features', 'tiny', { ...key, views: [] })).not.toBe(
      keyedCacheDir('/r', 'features', 'tiny', key),
    );
  });
});

describe('extractInBatches', () => {
  const about = { unit: 'features', where: 'feature extraction', fix: 'check the width' };

  it('hands each batch its rows item-major, (row·views + view)·rowSize, with progress after every view', async () => {
    const calls: string[] = [];
    const batches: [number, number[]][] = [];
    const progress: [number, number, string | undefined][] = [];
    const job = {
      count: 3,
      views: 2,
      batchSize: 2,
      rowSize: 1,
      stage: 'features',
      about,
      onProgress: (done: number, total: number, stage?: string) => progress.push([done, total, stage]),
      extract: async (items: readonly number[], view: number) => {
        calls.push(`${items.join(',')}@${view}`);
        return Float32Array.from(items, (item) => item * 10 + view);
      },
    };
    await extractInBatches(job, (first, rows) => {
      batches.push([first, Array.from(rows)]);
    });
    expect(calls).toEqual(['0,1@0', '0,1@1', '2@0', '2@1']);
    expect(batches).toEqual([
      [0, [0, 1, 10, 11]],
      [2, [20, 21]],
    ]);
    expect(progress).toEqual([
      [2, 6, 'features'],
      [4, 6, 'features'],
      [5, 6, 'features'],
      [6, 6, 'features'],
    ]);
  });

  it('refuses an extractor that returns the wrong number of values, naming both counts', async () => {
    const job = { count: 2, views: 1, batchSize: 2, rowSize: 3, stage: 's', about };
    await expect(
      extractInBatches({ ...job, extract: async () => new Float32Array(5) }, () => {}),
    ).rejects.toMatchObject({
      code: 'E_CACHE',
      message:
        'expected 2x3 features (6 values) for feature extraction but received 5 values; check the width',
    });
  });
});

describe('writeCacheFolder / readCompleteIndex', () => {
  it('writes data and index into place; only the same size and ids read back as complete', async () => {
    const dir = join(root, 'kind', 'a');
    await writeCacheFolder(dir, { ids: ['x'], width: 1 }, (temp) => writeFile(join(temp, 'data.bin'), 'abc'));
    expect(await readFile(join(dir, 'data.bin'), 'utf8')).toBe('abc');
    expect(await readCompleteIndex(dir, 'data.bin', 3, ['x'])).toEqual({ ids: ['x'], width: 1 });
    expect(await readCompleteIndex(dir, 'data.bin', 4, ['x'])).toBeNull();
    expect(await readCompleteIndex(dir, 'data.bin', 3, ['y'])).toBeNull();
    expect(await readCompleteIndex(dir, 'other.bin', 3, ['x'])).toBeNull();
    expect(await readCompleteIndex(join(root, 'kind', 'none'), 'data.bin', 3, ['x'])).toBeNull();
  });

  it('keeps the old folder and leaves no temp folder when filling fails', async () => {
    const dir = join(root, 'kind', 'a');
    const failure = new Error('extractor failed');
    await expect(writeCacheFolder(dir, { ids: [] }, () => Promise.reject(failure))).rejects.toBe(failure);
    expect(await readdir(join(root, 'kind'))).toEqual(['a']);
    expect(await readCompleteIndex(dir, 'data.bin', 3, ['x'])).toEqual({ ids: ['x'], width: 1 });
  });
});
