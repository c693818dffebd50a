import { describe, expect, it } from 'vitest';
import { createEstimator, formatDuration, withEstimates } from '../../src/cli/progress.js';

describe('formatDuration', () => {
  it('reads as hours, minutes or seconds', () => {
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(3900)).toBe('1 h 05 min');
  });
});

describe('feature extraction: an estimate from a measured warm-up', () => {
  it('leaves the first batch (engine start) out and says the rate and time left once', () => {
    let t = 0;
    const estimate = createEstimator(() => t, 5);
    const at = (seconds: number, done: number) => {
      t = seconds * 1000;
      return estimate(done, 960, 'features');
    };
    const lines = [
      at(0, 0), // start
      at(60, 32), // first batch: 60 s, the engine's start-up included
      at(70, 64), // 32 in 10 s after the warm-up batch: 3.2 images/s
      at(80, 96),
    ];
    expect(lines.slice(0, 2)).toEqual([undefined, undefined]);
    expect(lines[2]).toBe(
      'features: 960 image views at 3.2 images/s (measured after a warm-up): about 4 min 40 s to go',
    );
    expect(lines[3]).toBeUndefined();
  });

  it('says nothing for other progress (epochs, decoding) or work done in one batch', () => {
    let t = 0;
    const estimate = createEstimator(() => t, 0);
    for (const label of ['epoch', 'decode']) {
      for (let done = 0; done <= 100; done += 10) {
        t += 1000;
        expect(estimate(done, 100, label)).toBeUndefined();
      }
    }
    expect([estimate(0, 32, 'features'), estimate(32, 32, 'features')]).toEqual([undefined, undefined]);
  });

  it('estimates each new phase again, and withEstimates passes every event on', () => {
    const said: string[] = [];
    const events: number[] = [];
    const hook = withEstimates(
      (done) => events.push(done),
      (line) => said.push(line),
    );
    for (const phase of [1, 2]) for (let done = 0; done <= 40; done += 8) hook(done, 40 * phase, 'features');
    expect(events).toHaveLength(12);
    expect(said).toHaveLength(2);
  });
});

describe('feature extraction reports its start to the progress hook', () => {
  it('(0, total, "features") comes before the first batch, so the warm-up batch can be left out', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadOrBuildFeatureCache } = await import('../../src/node/train/feature-cache.js');
    const cacheRoot = await mkdtemp(join(tmpdir(), 'progress-'));
    const events: string[] = [];
    try {
      await loadOrBuildFeatureCache({
        cacheRoot,
        key: {
          backbone: 'stub',
          weights: 'stub',
          weightsHash: 'x',
          preprocess: { width: 2, height: 2, resize: 'stretch', colorConstancy: false },
          pooling: 'avg',
          views: ['identity'],
          randomViews: { count: 0, seed: 1 },
          images: 'x',
          ids: 'x',
        },
        ids: ['a', 'b', 'c'],
        width: 1,
        batchSize: 2,
        extract: async (items) => {
          events.push(`extract ${items.length}`);
          return new Float32Array(items.length);
        },
        onProgress: (done, total, label) => events.push(`${label} ${done}/${total}`),
      });
    } finally {
      await rm(cacheRoot, { recursive: true, force: true });
    }
    expect(events).toEqual(['features 0/3', 'extract 2', 'features 2/3', 'extract 1', 'features 3/3']);
  });
});
