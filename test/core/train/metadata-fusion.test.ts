import { describe, expect, it } from 'vitest';
import { BundleMetaSchema } from '../../../src/core/bundle/meta.js';
import { fitMetadataOffsets, type LesionMetadata } from '../../../src/core/train/metadata.js';
import {
  fuseMetadata,
  fuseMetadataRows,
  metadataBranch,
  stackerBranch,
} from '../../../src/core/train/metadata-fusion.js';
import { fitMetadataStacker } from '../../../src/core/train/metadata-stacker.js';
import { at } from '../../../src/core/util/at.js';

const metadata: LesionMetadata[] = Array.from({ length: 60 }, (_, i) => ({
  site: i % 2 === 0 ? 'face' : 'back',
  age: 30 + (i % 40),
}));
const labels = Int32Array.from(metadata, (m) => (m.site === 'face' ? 1 : 0));
const logits = metadata.map(() => Float32Array.of(Math.log(0.6), Math.log(0.4)));
const branches = {
  'logit-offsets': metadataBranch(fitMetadataOffsets(logits, metadata, labels, 2, { l2: 1e-4 })),
  'mlp-offsets': stackerBranch(
    fitMetadataStacker(logits, metadata, labels, 2, { iterations: 100, hidden: 4 }),
  ),
};

describe('fuseMetadata', () => {
  for (const [fusion, branch] of Object.entries(branches)) {
    it(`${fusion}: moves the probabilities with metadata, leaves them as they are without`, () => {
      const probabilities = Float32Array.of(0.6, 0.4);
      expect(fuseMetadata(branch, probabilities, {})).toBe(probabilities);
      expect(fuseMetadata(branch, probabilities, undefined)).toBe(probabilities);
      const face = fuseMetadata(branch, probabilities, { site: 'face', age: 40 });
      expect(at(face, 1)).toBeGreaterThan(0.5);
      expect(at(face, 0) + at(face, 1)).toBeCloseTo(1, 6);
    });

    it(`${fusion}: is a branch bundle.json accepts`, () => {
      const parsed = BundleMetaSchema.shape.metadata.safeParse(branch);
      expect(parsed.success).toBe(true);
    });
  }

  it('refuses a branch whose weights do not fit the classes', () => {
    const branch = { ...branches['logit-offsets'], weights: [1, 2, 3] };
    expect(() => fuseMetadata(branch, Float32Array.of(0.5, 0.5), { site: 'face' })).toThrow(
      'expected a metadata branch for 2 classes over the HAM10000 sites for the bundle metadata branch but received 3 offset weights; re-export the bundle',
    );
  });
});

describe('fuseMetadataRows', () => {
  it('fuses each row of a row-major set with its own metadata, rows without metadata unchanged', () => {
    const branch = branches['mlp-offsets'];
    const rows = Float32Array.of(0.6, 0.4, 0.3, 0.7, 0.9, 0.1);
    const rowMetadata: (LesionMetadata | undefined)[] = [{ site: 'face', age: 40 }, {}, undefined];
    const fused = fuseMetadataRows(branch, rows, rowMetadata, 2);
    expect(Array.from(fused.subarray(0, 2))).toEqual(
      Array.from(fuseMetadata(branch, rows.subarray(0, 2), { site: 'face', age: 40 })),
    );
    expect(Array.from(fused.subarray(0, 2))).not.toEqual([0.6, 0.4].map(Math.fround));
    expect(Array.from(fused.subarray(2))).toEqual(Array.from(rows.subarray(2)));
  });
});
