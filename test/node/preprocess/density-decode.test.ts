import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { preshrinkSize } from '../../../src/core/preprocess/decoding.js';
import {
  applyDensity,
  areaResize,
  type DensityRule,
  densityTarget,
} from '../../../src/core/preprocess/density.js';
import type { PreprocessSpec } from '../../../src/core/preprocess/spec.js';
import { at } from '../../../src/core/util/at.js';
import { decodeImage, decodeRaw } from '../../../src/node/preprocess/decode-image.js';

const PART = resolve('data/sample/ham10000/HAM10000_images_part_1');
const HAM: DensityRule = { enabled: true, sourceWidth: 200, sourceHeight: 150, maxRatio: 1.25 };
/** A 224x224 stretch model with the HAM10000 density rule. */
const HAM_224: PreprocessSpec = {
  width: 224,
  height: 224,
  resize: 'stretch',
  colorConstancy: false,
  density: HAM,
};

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

describe('a denser image reaches the rule target through the core area filter after the pre-shrink', () => {
  /** Mean and largest |difference| between sharp's reduction and the core area filter on the full decode. */
  async function againstAreaFilter(jpegBytes: Buffer, spec: PreprocessSpec) {
    const raw = applyDensity(await decodeRaw(jpegBytes, spec), spec.density);
    const full = await sharp(jpegBytes).raw().toBuffer({ resolveWithObject: true });
    const target = densityTarget(full.info.width, full.info.height, spec.density);
    if (!target) throw new Error('the test image must be denser than the rule allows');
    const area = areaResize(
      { data: full.data, width: full.info.width, height: full.info.height, channels: 3 },
      target.width,
      target.height,
    );
    let sum = 0;
    let most = 0;
    for (const [i, v] of area.data.entries()) {
      const d = Math.abs(v - at(raw.data, i));
      sum += d;
      most = Math.max(most, d);
    }
    return {
      size: [raw.width, raw.height],
      target: [target.width, target.height],
      mean: sum / area.data.length,
      most,
    };
  }

  it.each([
    ['600x450 (3x)', 600, 450],
    ['450x600 portrait', 450, 600],
    ['224x224 crop (1.49x)', 224, 224],
  ])(
    '%s: exactly the rule size, within a mean of 0.25 grey levels of the area filter on the full decode',
    async (_, w, h) => {
      const spec = HAM_224;
      for (const name of (await readdir(PART)).slice(0, 3)) {
        const big = await sharp(join(PART, name))
          .resize(w, h, { fit: 'fill' })
          .jpeg({ quality: 95 })
          .toBuffer();
        const { size, target, mean, most } = await againstAreaFilter(big, spec);
        expect(size).toEqual(target);
        expect(mean).toBeLessThan(0.25);
        expect(most).toBeLessThan(8);
      }
    },
  );
});

describe('a caller that has read the header already passes the upright size', () => {
  const spec = HAM_224;

  it.each([1, 6])(
    'the same pixels as reading it again (orientation %i, a 1280x960 JPEG the pre-shrink halves)',
    async (orientation) => {
      const file = join(PART, at(await readdir(PART), 0));
      const big = await sharp(file)
        .resize(1280, 960, { fit: 'fill' })
        .withMetadata({ orientation })
        .jpeg()
        .toBuffer();
      const upright = orientation >= 5 ? { width: 960, height: 1280 } : { width: 1280, height: 960 };
      const read = await decodeImage(big, spec);
      expect(
        Buffer.from(await decodeImage(big, spec, undefined, { upright })).equals(Buffer.from(read)),
      ).toBe(true);
      // and the size is really used, not read again: a wrong one plans another pre-shrink
      const wrong = { width: 600, height: 450 };
      expect(
        Buffer.from(await decodeImage(big, spec, undefined, { upright: wrong })).equals(Buffer.from(read)),
      ).toBe(false);
    },
  );
});
