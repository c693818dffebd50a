import { access } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { BITMAP_OPTIONS } from '../../src/browser/preprocess.js';
import { preprocessDecoded } from '../../src/core/preprocess/decoding.js';
import type { PreprocessSpec } from '../../src/core/preprocess/spec.js';
import { decodeImage } from '../../src/node/preprocess/decode-image.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = await access(CHROMIUM).then(
  () => true,
  () => false,
);

/**
 * A semi-transparent PNG decoded as the page decodes it (createImageBitmap with the page's BITMAP_OPTIONS, which
 * convert a colour profile to sRGB and leave this untagged image alone, a 2D canvas, getImageData:
 * premultiplied storage, so the RGBA comes back changed where alpha < 255) gives exactly Node's model input.
 */
describe.skipIf(!hasChromium)('semi-transparent images: the page and Node classify the same pixels', () => {
  it('for every alpha 0..255 against every colour value, byte for byte', async () => {
    const width = 256;
    const height = 256;
    const rgba = new Uint8Array(width * height * 4);
    for (let a = 0; a < 256; a++) {
      for (let v = 0; v < 256; v++) rgba.set([v, 255 - v, (v * 7) % 256, a], (a * width + v) * 4);
    }
    const png = await sharp(rgba, { raw: { width, height, channels: 4 } })
      .png()
      .toBuffer();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu'],
    });
    let page: number[];
    try {
      page = await (await browser.newPage()).evaluate(
        async ([base64, options]) => {
          const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
          const blob = new Blob([bytes], { type: 'image/png' });
          // as web/src/main.ts decodes an upload
          const bitmap = await createImageBitmap(blob, options);
          const canvas = document.createElement('canvas');
          canvas.width = bitmap.width;
          canvas.height = bitmap.height;
          const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
          ctx.drawImage(bitmap, 0, 0);
          return Array.from(ctx.getImageData(0, 0, bitmap.width, bitmap.height).data);
        },
        [png.toString('base64'), BITMAP_OPTIONS] as const,
      );
    } finally {
      await browser.close();
    }
    const pixels = Uint8ClampedArray.from(page);
    expect(Buffer.from(pixels).equals(Buffer.from(rgba))).toBe(false); // the canvas did change them
    for (const spec of [
      { width: 256, height: 256, resize: 'stretch', colorConstancy: false },
      { width: 128, height: 128, resize: 'crop', colorConstancy: true },
    ] satisfies PreprocessSpec[]) {
      const node = await decodeImage(png, spec);
      const inPage = preprocessDecoded({ data: pixels, width, height, channels: 4 }, spec);
      expect(Buffer.from(inPage).equals(Buffer.from(node))).toBe(true);
    }
  }, 60_000);
});
