import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  applyMetadataOffsets,
  dropMetadata,
  encodeMetadata,
  encodeOffsetInputs,
  fitMetadataOffsets,
  HAM10000_SITES,
  METADATA_WIDTH,
  parseLesionMetadata,
} from '../../../src/core/train/metadata.js';
import type { ItemSet } from '../../../src/core/train/trainer.js';
import { at } from '../../../src/core/util/at.js';
import { withMetadata } from '../../../src/node/train/item-sets.js';

const S = HAM10000_SITES.length;

describe('lesion metadata', () => {
  it('reads age, sex and site from a HAM10000 row, never dx_type; unknown and empty are missing', () => {
    const row = { dx_type: 'histo', age: '45.0', sex: 'female', localization: 'lower extremity' };
    expect(parseLesionMetadata(row)).toEqual({ age: 45, sex: 'female', site: 'lower extremity' });
    expect(
      parseLesionMetadata({ age: '', sex: 'unknown', localization: 'unknown', dx_type: 'consensus' }),
    ).toEqual({});
    expect(() => parseLesionMetadata({ localization: 'elbow' })).toThrow(
      /^expected a known site \(abdomen, .*\) for the metadata localization but received "elbow"; use one of them or leave it empty$/,
    );
  });

  it('encodes site one-hot, sex and age/100 with explicit missing flags', () => {
    expect(METADATA_WIDTH).toBe(S + 6);
    const full = encodeMetadata({ age: 50, sex: 'male', site: 'back' });
    expect(full[HAM10000_SITES.indexOf('back')]).toBe(1);
    expect([full[S], full[S + 1], full[S + 2], full[S + 3], full[S + 4], full[S + 5]]).toEqual([
      0, 1, 0, 0, 0.5, 0,
    ]);
    const empty = encodeMetadata({});
    expect(Array.from(empty.slice(0, S)).every((v) => v === 0)).toBe(true);
    expect([empty[S], empty[S + 3], empty[S + 4], empty[S + 5]]).toEqual([1, 1, 0, 1]);
  });

  it('metadata dropout hides all or single fields at the given rates', () => {
    let calls = 0;
    const seq = [0.1, 0.9, 0.9, 0.9, 0.9, 0.05, 0.9, 0.9];
    const rng = () => at(seq, calls++ % seq.length);
    const m = { age: 30, sex: 'female' as const, site: 'face' };
    expect(dropMetadata(m, { all: 0.25, field: 0.1 }, rng)).toEqual({});
    expect(dropMetadata(m, { all: 0.25, field: 0.1 }, rng)).toEqual({ sex: 'female', site: 'face' });
  });

  it('withMetadata appends the encoded rows after the features and leaks no tensors', async () => {
    const base: ItemSet = {
      labels: Int32Array.of(0, 1),
      views: 1,
      batch: (indices) =>
        tf.tensor2d(
          indices.flatMap((i) => [i, i]),
          [indices.length, 2],
        ),
    };
    const set = withMetadata(base, [{ age: 20 }, {}]);
    const before = tf.memory().numTensors;
    const x = await set.batch([1, 0], [0, 0]);
    expect(x.shape).toEqual([2, 2 + METADATA_WIDTH]);
    const rows = (await x.array()) as number[][];
    const [first, second] = [at(rows, 0), at(rows, 1)];
    expect(first.slice(0, 2)).toEqual([1, 1]);
    expect(at(second, 2 + S + 4)).toBeCloseTo(0.2, 6);
    expect(at(first, 2 + S + 5)).toBe(1); // item 1 has no age
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('late-fusion metadata offsets', () => {
  it('are exactly zero without metadata and learn a site that predicts the class', () => {
    const site = (i: number) => (i % 2 === 0 ? 'face' : 'back');
    const metadata = Array.from({ length: 200 }, (_, i) => ({ site: site(i) }));
    const labels = Int32Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const logits = metadata.map(() => Float32Array.of(0, 0));
    const offsets = fitMetadataOffsets(logits, metadata, labels, 2, { l2: 1e-4, iterations: 200 });
    const face = applyMetadataOffsets(offsets, [0, 0], { site: 'face' });
    expect(at(face, 1)).toBeGreaterThan(at(face, 0) + 1);
    expect(Array.from(applyMetadataOffsets(offsets, [0.3, -0.2], {}))).toEqual([
      Math.fround(0.3),
      Math.fround(-0.2),
    ]);
    expect(encodeOffsetInputs({}).every((v) => v === 0)).toBe(true);
  });
});
