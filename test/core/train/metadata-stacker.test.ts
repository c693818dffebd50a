import { describe, expect, it } from 'vitest';
import {
  applyMetadataOffsets,
  fitMetadataOffsets,
  type LesionMetadata,
} from '../../../src/core/train/metadata.js';
import {
  applyMetadataStacker,
  fitMetadataStacker,
  stackerFromWeights,
  stackerInputWidth,
  stackerOffsets,
  stackerWeights,
} from '../../../src/core/train/metadata-stacker.js';
import { at } from '../../../src/core/util/at.js';

/** 2 classes, image logits that say nothing; class 1 exactly when the site is the face XOR the patient is over 50. */
function xorData(n: number) {
  const metadata: LesionMetadata[] = Array.from({ length: n }, (_, i) => ({
    site: i % 2 === 0 ? 'face' : 'back',
    age: 20 + ((i * 7) % 61),
  }));
  const labels = Int32Array.from(metadata, (m) => ((m.site === 'face') !== m.age! > 50 ? 1 : 0));
  const logits = metadata.map(() => Float32Array.of(Math.log(0.5), Math.log(0.5)));
  return { metadata, labels, logits };
}

const argmax = (z: ArrayLike<number>) => (at(z, 1) > at(z, 0) ? 1 : 0);

describe('metadata stacker', () => {
  it('learns an interaction of site and age that linear offsets cannot express', () => {
    const { metadata, labels, logits } = xorData(240);
    const stacker = fitMetadataStacker(logits, metadata, labels, 2, { iterations: 400, l2: 1e-5, seed: 3 });
    const offsets = fitMetadataOffsets(logits, metadata, labels, 2, { l2: 1e-5, iterations: 400 });
    const hits = (predict: (i: number) => number) =>
      metadata.filter((_, i) => predict(i) === at(labels, i)).length / metadata.length;
    const stacked = hits((i) => argmax(applyMetadataStacker(stacker, at(logits, i), at(metadata, i))));
    const linear = hits((i) => argmax(applyMetadataOffsets(offsets, at(logits, i), at(metadata, i))));
    expect(stacked).toBeGreaterThan(0.9);
    expect(linear).toBeLessThan(0.8);
  });

  it('adds nothing to an image without metadata, unless fitted without the gate', () => {
    const { metadata, labels, logits } = xorData(80);
    const gated = fitMetadataStacker(logits, metadata, labels, 2, { iterations: 50 });
    expect(Array.from(applyMetadataStacker(gated, [0.25, -1.5], {}))).toEqual([0.25, -1.5]);
    expect(Array.from(applyMetadataStacker(gated, [0.25, -1.5], undefined))).toEqual([0.25, -1.5]);
    // recalibration without metadata: every image is a training row, and offsets apply to all
    const skewed = metadata.map((_, i) => Float32Array.of(Math.log(0.8), Math.log(0.2 + (i % 3) * 1e-3)));
    const open = fitMetadataStacker(
      skewed,
      metadata.map(() => ({})),
      Int32Array.from(labels),
      2,
      {
        iterations: 100,
        gate: false,
        fieldDropout: 0,
      },
    );
    expect(Math.max(...stackerOffsets(open, at(skewed, 0), {}).map(Math.abs))).toBeGreaterThan(0.01);
  });

  it('round-trips through its weight list and refuses a list of the wrong length', () => {
    const { metadata, labels, logits } = xorData(40);
    const stacker = fitMetadataStacker(logits, metadata, labels, 2, { iterations: 20, hidden: 4 });
    const weights = stackerWeights(stacker);
    expect(weights).toHaveLength(4 * stackerInputWidth(2) + 4 + 2 * 4 + 2);
    const back = stackerFromWeights(weights, 2, 4);
    const m = { site: 'face', age: 70, sex: 'female' } as const;
    expect(Array.from(applyMetadataStacker(back, [-0.1, -2.3], m))).toEqual(
      Array.from(applyMetadataStacker(stacker, [-0.1, -2.3], m)),
    );
    expect(() => stackerFromWeights(weights.slice(1), 2, 4)).toThrow(
      /^expected \d+ stacker weights \(4 hidden units, 2 classes\) for the bundle metadata branch but received \d+; re-export the bundle$/,
    );
  });

  it('refuses training rows that do not line up', () => {
    expect(() => fitMetadataStacker([Float32Array.of(0, 0)], [], Int32Array.of(0), 2)).toThrow(
      /one row of logits, metadata and label per training image/,
    );
  });
});
