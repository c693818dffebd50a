import { readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLesionlabError } from '../../../src/core/errors.js';
import { preprocessDecoded } from '../../../src/core/preprocess/decoding.js';
import { at } from '../../../src/core/util/at.js';
import { decodeImage, decodeRaw } from '../../../src/node/preprocess/decode-image.js';
import { tempDir, writeCorrupt, writeSolidPng } from '../../support/image-files.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SAMPLE = resolve(import.meta.dirname, '../../../data/sample/ham10000/HAM10000_images_part_1');

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isLesionlabError(error) ? `${error.code}: ${error.message}` : `other: ${String(error)}`;
  }
  return 'no error';
}

describe('decodeImage', () => {
  it('decodes a real HAM10000 JPEG to height x width x 3 under every policy', async () => {
    const file = join(SAMPLE, at(await readdir(SAMPLE), 0));
    for (const resize of ['stretch', 'pad', 'crop'] as const) {
      const out = await decodeImage(file, { width: 224, height: 160, resize, colorConstancy: false });
      expect(out).toBeInstanceOf(Uint8Array);
      expect(out.length).toBe(224 * 160 * 3);
    }
    const padded = await decodeImage(file, { width: 224, height: 224, resize: 'pad', colorConstancy: false });
    expect(Array.from(padded.slice(0, 3))).toEqual([0, 0, 0]);
  });

  it('gives exact colours for a lossless solid image and accepts a buffer', async () => {
    const file = join(dir, 'solid.png');
    await writeSolidPng(file, 20, 10, [10, 200, 30]);
    const out = await decodeImage(await sharp(file).toBuffer(), {
      width: 8,
      height: 8,
      resize: 'crop',
      colorConstancy: false,
    });
    expect(new Set(out)).toEqual(new Set([10, 200, 30]));
  });

  it('applies Shades-of-Gray before resizing: a tinted solid image becomes grey', async () => {
    const file = join(dir, 'tinted.png');
    await writeSolidPng(file, 12, 9, [200, 100, 50]);
    const out = await decodeImage(file, { width: 4, height: 4, resize: 'stretch', colorConstancy: true });
    expect(new Set(out)).toEqual(new Set([117]));
  });

  it('turns greyscale into RGB and flattens alpha onto black', async () => {
    const grey = join(dir, 'grey.png');
    await sharp(Buffer.alloc(6 * 4, 90), { raw: { width: 6, height: 4, channels: 1 } })
      .png()
      .toFile(grey);
    expect(
      new Set(await decodeImage(grey, { width: 3, height: 2, resize: 'stretch', colorConstancy: false })),
    ).toEqual(new Set([90]));
    const rgba = join(dir, 'transparent.png');
    const pixels = Buffer.alloc(4 * 4 * 4);
    for (let i = 0; i < pixels.length; i += 4) pixels.set([250, 250, 250, 0], i);
    await sharp(pixels, { raw: { width: 4, height: 4, channels: 4 } })
      .png()
      .toFile(rgba);
    const out = await decodeImage(rgba, { width: 4, height: 4, resize: 'stretch', colorConstancy: false });
    expect(out.length).toBe(4 * 4 * 3);
    expect(Math.max(...out)).toBe(0);
  });

  it('flattens a semi-transparent PNG byte for byte as core preprocessDecoded does its RGBA (the browser path)', async () => {
    // every alpha 0..255 against every colour value 0..255 (three different ones per pixel)
    const width = 256;
    const height = 256;
    const rgba = new Uint8Array(width * height * 4);
    for (let alpha = 0; alpha < 256; alpha++) {
      for (let v = 0; v < 256; v++) rgba.set([v, 255 - v, (v * 7) % 256, alpha], (alpha * width + v) * 4);
    }
    const png = await sharp(rgba, { raw: { width, height, channels: 4 } })
      .png()
      .toBuffer();
    // a model input of half the size: no pre-shrink in sharp, so both paths see the same full-size pixels
    for (const spec of [
      { width: 256, height: 256, resize: 'stretch', colorConstancy: false },
      { width: 128, height: 128, resize: 'crop', colorConstancy: true },
    ] as const) {
      const node = await decodeImage(png, spec);
      const page = preprocessDecoded({ data: rgba, width, height, channels: 4 }, spec);
      expect(Buffer.from(page).equals(Buffer.from(node))).toBe(true);
    }
  });

  it('pre-shrinks a large image with sharp and stays close to a lanczos reference', async () => {
    const big = join(dir, 'big.png');
    const w = 900;
    const h = 600;
    const data = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) data.set([(x * 255) / w, (y * 255) / h, 128], (y * w + x) * 3);
    await sharp(data, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toFile(big);
    const raw = await decodeRaw(big, { width: 64, height: 64, resize: 'crop' });
    expect([raw.width, raw.height]).toEqual([192, 128]);
    const out = await decodeImage(big, { width: 64, height: 64, resize: 'crop', colorConstancy: false });
    const ref = await sharp(big).resize(64, 64, { fit: 'cover' }).raw().toBuffer();
    const meanDiff = out.reduce((sum, v, i) => sum + Math.abs(v - at(ref, i)), 0) / out.length;
    expect(meanDiff).toBeLessThan(1.5);
  });

  it('names a corrupt file in an E_BAD_IMAGE error', async () => {
    const file = join(dir, 'ISIC_bad.jpg');
    await writeCorrupt(file);
    const result = await codeOf(
      decodeImage(file, { width: 8, height: 8, resize: 'crop', colorConstancy: false }),
    );
    expect(result).toMatch(
      /^E_BAD_IMAGE: expected an image lesionlab can decode for .*ISIC_bad\.jpg but received a file it cannot decode \(.+\); replace or remove the file, or skip bad images$/,
    );
  });

  it('names a truncated JPEG in an E_BAD_IMAGE error', async () => {
    const file = join(SAMPLE, at(await readdir(SAMPLE), 1));
    const bytes = await sharp(file).jpeg().toBuffer();
    const cut = join(dir, 'cut.jpg');
    await writeFile(cut, bytes.subarray(0, bytes.length >> 1));
    expect(
      await codeOf(decodeImage(cut, { width: 8, height: 8, resize: 'crop', colorConstancy: false })),
    ).toMatch(/^E_BAD_IMAGE: .*cut\.jpg/);
  });

  it('reports a missing file as E_MISSING_FILE', async () => {
    const result = await codeOf(
      decodeImage(join(dir, 'nope.jpg'), { width: 8, height: 8, resize: 'crop', colorConstancy: false }),
    );
    expect(result).toMatch(
      /^E_MISSING_FILE: expected an image file for .*nope\.jpg but received no such file; check the dataset root and the image id$/,
    );
  });
});

describe('decode hints', () => {
  it('maxPixels refuses a larger image before decoding it (E_BAD_IMAGE naming the limit), with or without the density rule', async () => {
    const bytes = await sharp({ create: { width: 60, height: 45, channels: 3, background: '#864' } })
      .jpeg()
      .toBuffer();
    const spec = { width: 16, height: 16, resize: 'stretch' as const, colorConstancy: false };
    const density = { enabled: true, sourceWidth: 20, sourceHeight: 15, maxRatio: 1.25 };
    for (const s of [spec, { ...spec, density }]) {
      expect(await codeOf(decodeImage(bytes, s, 'upload.jpg', { maxPixels: 2000 }))).toMatch(
        /^E_BAD_IMAGE: .*upload\.jpg.*pixel limit/,
      );
      expect(await decodeImage(bytes, s, 'upload.jpg', { maxPixels: 2700 })).toHaveLength(16 * 16 * 3);
    }
  });
});
