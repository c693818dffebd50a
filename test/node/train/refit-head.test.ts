import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../../src/core/data/records.js';
import { Head } from '../../../src/core/train/head.js';
import { Prng } from '../../../src/core/train/prng.js';
import { gatherFeatures } from '../../../src/node/train/feature-cache.js';
import type { FineTuneScorer } from '../../../src/node/train/finetune-stage.js';
import { bestStage3Choice, pooledFeatures, stage3Candidates } from '../../../src/node/train/refit-head.js';

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

describe('stage3Candidates', () => {
  const spec = { inputWidth: 4, hidden: 0, numClasses: 3, dropout: 0 };

  it('offers the stage-2 head, the re-fitted head and, for linear heads, their logit average', () => {
    const stage2 = Head.create(spec, new Prng(1));
    const refit = Head.create(spec, new Prng(2));
    const candidates = stage3Candidates(stage2, refit);
    expect([...candidates.keys()]).toEqual(['stage2', 'refit', 'average']);
    expect(candidates.get('stage2')).toBe(stage2);
    expect(candidates.get('refit')).toBe(refit);
    const x = tf.tensor2d([1, -2, 0.5, 3], [1, 4]);
    const [want, got] = tf.tidy(() => [
      Array.from(stage2.logits(x).add(refit.logits(x)).div(2).dataSync()),
      Array.from(candidates.get('average')!.logits(x).dataSync()),
    ]);
    for (const [i, v] of got!.entries()) expect(v).toBeCloseTo(want![i]!, 5);
    x.dispose();
    for (const head of candidates.values()) head.dispose();
  });

  it('offers no average when a head has a hidden layer', () => {
    const stage2 = Head.create({ ...spec, hidden: 5 }, new Prng(1));
    const refit = Head.create({ ...spec, hidden: 5 }, new Prng(2));
    expect([...stage3Candidates(stage2, refit).keys()]).toEqual(['stage2', 'refit']);
    stage2.dispose();
    refit.dispose();
  });
});

describe('bestStage3Choice', () => {
  it('picks the highest score, the earlier candidate on ties', () => {
    expect(
      bestStage3Choice(
        new Map([
          ['stage2', 0.6],
          ['refit', 0.7],
          ['average', 0.65],
        ]),
      ),
    ).toBe('refit');
    expect(
      bestStage3Choice(
        new Map([
          ['stage2', 0.7],
          ['refit', 0.7],
          ['average', 0.7],
        ]),
      ),
    ).toBe('stage2');
    expect(
      bestStage3Choice(
        new Map([
          ['stage2', 0.5],
          ['refit', 0.4],
          ['average', 0.55],
        ]),
      ),
    ).toBe('average');
  });
});
