import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { camForClass, heatColor, heatmapRgba } from '../../src/browser/cam.js';
import { preprocessRgba } from '../../src/browser/preprocess.js';
import type { PreprocessSpec } from '../../src/core/preprocess/spec.js';
import { at } from '../../src/core/util/at.js';
import { decodeImage } from '../../src/node/preprocess/decode-image.js';

const SAMPLE = 'data/sample/ham10000/HAM10000_images_part_1/ISIC_0024313.jpg';

describe('browser preprocessing', () => {
  it.each([
    ['stretch', false],
    ['crop', true],
    ['pad', true],
  ] as const)(
    'RGBA pixels give exactly the Node input (%s, colour constancy %s)',
    async (resize, colorConstancy) => {
      const spec: PreprocessSpec = { width: 112, height: 112, resize, colorConstancy };
      const png = await sharp(SAMPLE).png().toBuffer();
      const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      const page = preprocessRgba(new Uint8Array(data), info.width, info.height, spec);
      const node = await decodeImage(png, spec);
      expect(page.length).toBe(112 * 112 * 3);
      expect(Buffer.from(page).equals(Buffer.from(node))).toBe(true);
    },
  );
});

describe('CAM helpers', () => {
  it('slices one class of a [1, h, w, C] map and colours it min-max', () => {
    const cam = Float32Array.from({ length: 2 * 3 * 2 }, (_, i) => i);
    const map = camForClass(cam, [1, 2, 3, 2], 1);
    expect(Array.from(map.values)).toEqual([1, 3, 5, 7, 9, 11]);
    const rgba = heatmapRgba(map);
    expect(rgba.length).toBe(24);
    expect(at(rgba, 3)).toBeLessThan(at(rgba, 23));
    expect(heatColor(0)[2]).toBeGreaterThan(heatColor(0)[0]);
    expect(heatColor(1)[0]).toBeGreaterThan(heatColor(1)[2]);
  });
});
