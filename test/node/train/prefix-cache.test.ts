import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { at } from '../../../src/core/util/at.js';
import {
  fromFloat16,
  loadOrBuildPrefixCache,
  type PrefixCacheKey,
  prefixCacheBytes,
  toFloat16,
} from '../../../src/node/train/prefix-cache.js';

const work = await mkdtemp(join(tmpdir(), 'prefix-cache-'));
afterAll(() => rm(work, { recursive: true, force: true }));

const key = (dtype: PrefixCacheKey['dtype']): PrefixCacheKey => ({
  backbone: 'tiny',
  weights: 'random:5',
  weightsHash: 'abc',
  boundary: 'conv_a',
  views: ['identity', 'flip_h'],
  images: 'fp',
  ids: 'ids',
  dtype,
});
const ids = ['a', 'b', 'c', 'd', 'e'];
const mapSize = 6;
const value = (item: number, view: number, j: number) => item * 10 + view + j / 8;

describe('float16 conversion', () => {
  it('round-trips within half precision (relative 2^-11), keeps zero, signs, subnormals and overflow', () => {
    const values = Float32Array.from([0, -0, 1, -2.5, 6, 0.1, 65504, 1e5, 3e-6, -1e-8, 2 ** -24]);
    const back = fromFloat16(toFloat16(values), new Float32Array(values.length));
    for (let i = 0; i < 6; i++)
      expect(Math.abs(at(back, i) - at(values, i))).toBeLessThanOrEqual(Math.abs(at(values, i)) * 2 ** -11);
    expect(back[6]).toBe(65504);
    expect(back[7]).toBe(Number.POSITIVE_INFINITY);
    expect(Math.abs(at(back, 8) - 3e-6)).toBeLessThan(6e-8);
    expect(back[9]).toBe(-0);
    expect(back[10]).toBe(2 ** -24);
  });
});

describe('prefix activation cache', () => {
  it('stores every image and view once, reads any items and views back, and is reused', async () => {
    let calls = 0;
    const extract = async (items: readonly number[], view: number) => {
      calls++;
      return Float32Array.from({ length: items.length * mapSize }, (_, k) =>
        value(at(items, Math.floor(k / mapSize)), view, k % mapSize),
      );
    };
    const options = { cacheRoot: work, key: key('float32'), ids, mapSize, batchSize: 2, extract };
    const cache = await loadOrBuildPrefixCache(options);
    expect(cache.built).toBe(true);
    expect(cache.bytes).toBe(prefixCacheBytes(5, 2, mapSize, 'float32'));
    expect(calls).toBe(6);
    const got = await cache.read([4, 0], [1, 0]);
    expect(Array.from(got.subarray(0, 2))).toEqual([value(4, 1, 0), value(4, 1, 1)]);
    expect(got[mapSize]).toBe(value(0, 0, 0));
    await cache.close();
    const again = await loadOrBuildPrefixCache(options);
    expect(again.built).toBe(false);
    expect(calls).toBe(6);
    await again.close();
  });

  it('float16 halves the bytes and reads back within half precision', async () => {
    const extract = async (items: readonly number[], view: number) =>
      Float32Array.from({ length: items.length * mapSize }, (_, k) =>
        value(at(items, Math.floor(k / mapSize)), view, k % mapSize),
      );
    const cache = await loadOrBuildPrefixCache({
      cacheRoot: work,
      key: key('float16'),
      ids,
      mapSize,
      batchSize: 3,
      extract,
    });
    expect(cache.bytes).toBe(5 * 2 * mapSize * 2);
    const got = await cache.read([3], [1]);
    for (let j = 0; j < mapSize; j++) expect(Math.abs(at(got, j) - value(3, 1, j))).toBeLessThan(0.02);
    await cache.close();
  });

  it('refuses an extractor whose output does not match the map size', async () => {
    await expect(
      loadOrBuildPrefixCache({
        cacheRoot: join(work, 'bad'),
        key: key('float32'),
        ids,
        mapSize,
        batchSize: 2,
        extract: async () => new Float32Array(3),
      }),
    ).rejects.toThrow(
      'expected 2x6 activations (12 values) for the prefix cache but received 3 values; check that the prefix output matches the tail input',
    );
  });
});
