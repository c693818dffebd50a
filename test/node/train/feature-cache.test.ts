import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type FeatureCacheKey,
  featureCacheDir,
  gatherFeatures,
  hashIds,
  loadOrBuildFeatureCache,
} from '../../../src/node/train/feature-cache.js';

const root = await mkdtemp(join(tmpdir(), 'feature-cache-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const ids = ['a', 'b', 'c'];
const key: FeatureCacheKey = {
  backbone: 'tiny',
  weights: 'random:1',
  weightsHash: '0123456789abcdef',
  preprocess: { width: 8, height: 8, resize: 'stretch', colorConstancy: false },
  pooling: 'avg',
  views: ['identity', 'flip_h'],
  randomViews: { count: 0, seed: 1 },
  images: 'fedcba9876543210',
  ids: hashIds(ids),
};

function counter() {
  const calls: [number[], number][] = [];
  return {
    calls,
    extract: async (items: readonly number[], view: number) => {
      calls.push([[...items], view]);
      return Float32Array.from(items.flatMap((i) => [i, view, 7]));
    },
  };
}

describe('feature cache', () => {
  it('extracts every image and view once, then reuses the files', async () => {
    const first = counter();
    const built = await loadOrBuildFeatureCache({
      cacheRoot: root,
      key,
      ids,
      width: 3,
      batchSize: 2,
      extract: first.extract,
    });
    expect(built.built).toBe(true);
    expect(first.calls).toEqual([
      [[0, 1], 0],
      [[0, 1], 1],
      [[2], 0],
      [[2], 1],
    ]);
    expect(Array.from(gatherFeatures(built, [2, 0], [1, 0]))).toEqual([2, 1, 7, 0, 0, 7]);
    const again = counter();
    const reused = await loadOrBuildFeatureCache({
      cacheRoot: root,
      key,
      ids,
      width: 3,
      batchSize: 2,
      extract: again.extract,
    });
    expect(reused.built).toBe(false);
    expect(again.calls).toEqual([]);
    expect(Array.from(reused.data)).toEqual(Array.from(built.data));
    expect((await readdir(join(root, 'features'))).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('keys on the views and rebuilds a damaged cache', async () => {
    expect(featureCacheDir(root, { ...key, views: ['identity'] })).not.toBe(featureCacheDir(root, key));
    await writeFile(join(featureCacheDir(root, key), 'features.f32'), 'short');
    const rebuilt = counter();
    const cache = await loadOrBuildFeatureCache({
      cacheRoot: root,
      key,
      ids,
      width: 3,
      batchSize: 8,
      extract: rebuilt.extract,
    });
    expect(cache.built).toBe(true);
    expect(rebuilt.calls.length).toBe(2);
    expect(() => cache.indexOf('zzz')).toThrow(
      /^expected one of its 3 cached image ids for feature cache .* but received "zzz" \(no image zzz in it\); delete the folder to rebuild it$/,
    );
  });

  it('fails clearly when the extractor returns the wrong width, leaving no cache behind', async () => {
    const bad = { ...key, pooling: 'bad' };
    await expect(
      loadOrBuildFeatureCache({
        cacheRoot: root,
        key: bad,
        ids,
        width: 4,
        batchSize: 8,
        extract: async (items) => new Float32Array(items.length * 3),
      }),
    ).rejects.toThrow(
      "expected 3x4 features (12 values) for feature extraction but received 9 values; check that the backbone's feature width matches",
    );
    expect(
      (await readdir(join(root, 'features'))).some((n) => n.startsWith('tiny-') && n.includes('.tmp-')),
    ).toBe(false);
  });
});
