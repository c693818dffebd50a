import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../../src/core/data/records.js';
import { gatherFeatures } from '../../../src/node/train/feature-cache.js';
import type { FineTuneScorer } from '../../../src/node/train/finetune-stage.js';
import { pooledFeatures } from '../../../src/node/train/refit-head.js';

/** A scorer whose "maps" of item i, view v hold i·10 + v, pooled to [that, −that]. */
function scorer(): FineTuneScorer {
  return {
    itemSet: (records) => ({
      labels: new Int32Array(records.length),
      views: 2,
      batch: (indices, views) =>
        tf.tensor4d(
          indices.map((item, r) => item * 10 + (views[r] ?? 0)),
          [indices.length, 1, 1, 1],
        ),
    }),
    features: (maps) => tf.tidy(() => tf.concat([maps, maps.neg()], 3).reshape([maps.shape[0]!, 2])),
    dispose: async () => {},
  };
}

describe('pooledFeatures (stage 3 reads the tuned tail through it)', () => {
  it('pools every record and view through the scorer, image-major, across batches of 64', async () => {
    const records = Array.from({ length: 70 }, (_, i) => ({ imageId: `ISIC_${i}` }) as ImageRecord);
    const cache = await pooledFeatures(scorer(), records, 2);
    expect([cache.ids.length, cache.views, cache.width]).toEqual([70, 2, 2]);
    expect(
      Array.from(gatherFeatures(cache, [cache.indexOf('ISIC_0'), cache.indexOf('ISIC_69')], [1, 0])),
    ).toEqual([1, -1, 690, -690]);
    expect(Array.from(gatherFeatures(cache, [cache.indexOf('ISIC_65')], [1]))).toEqual([651, -651]);
    expect(() => cache.indexOf('ISIC_70')).toThrow('ISIC_70 was not pooled');
  });
});
