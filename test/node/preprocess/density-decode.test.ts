import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { preshrinkSize } from '../../../src/core/preprocess/decoding.js';
import type { DensityRule } from '../../../src/core/preprocess/density.js';
import type { PreprocessSpec } from '../../../src/core/preprocess/spec.js';
import { at } from '../../../src/core/util/at.js';
import { decodeImage } from '../../../src/node/preprocess/decode-image.js';

const PART = resolve('data/sample/ham10000/HAM10000_images_part_1');
const HAM: DensityRule = { enabled: true, sourceWidth: 200, sourceHeight: 150, maxRatio: 1.25 };

describe('the density rule leaves training-density images exactly as in training', () => {
  it.each([16, 112, 224])(
    'a 200x150 image decodes identically with and without the rule (%i px model)',
    async (side) => {
      const file = join(PART, at(await readdir(PART), 0));
      const spec: PreprocessSpec = { width: side, height: side, resize: 'stretch', colorConstancy: false };
      const trained = await decodeImage(file, spec);
      expect(
        Buffer.from(await decodeImage(file, { ...spec, density: HAM })).equals(Buffer.from(trained)),
      ).toBe(true);
      expect(preshrinkSize(200, 150, { ...spec, density: HAM })).toEqual(preshrinkSize(200, 150, spec));
    },
  );
});
