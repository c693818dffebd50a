import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { augmentPreviewCommand } from '../../src/cli/augment-preview.js';
import { prepareCommand } from '../../src/cli/prepare.js';
import { at } from '../../src/core/util/at.js';
import { openImageCache } from '../../src/node/preprocess/image-cache.js';
import { runAndCapture } from '../support/run-command.js';

const SAMPLE = join(import.meta.dirname, '..', '..', 'data', 'sample', 'ham10000');
const dir = await mkdtemp(join(tmpdir(), 'lesionlab-cli-preprocess-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
});

const run = runAndCapture;

describe('lesionlab prepare', () => {
  it('builds the image cache of the embedded sample, then reuses it', async () => {
    const cacheDir = join(dir, 'cache');
    const args = [
      SAMPLE,
      '--size',
      '32',
      '--resize',
      'crop',
      '--color-constancy',
      '--cache-dir',
      cacheDir,
      '--no-check-images',
    ];
    const first = await run(prepareCommand, args);
    expect(first).toMatch(/144 images, 32x32 crop \+ Shades-of-Gray, 0\.00 GB, built in/);
    const name = at(await readdir(cacheDir), 0);
    expect(name).toMatch(/^32x32-crop-sog-n144-[0-9a-f]{16}$/);
    const cache = await openImageCache(join(cacheDir, name));
    expect(cache.count).toBe(144);
    let images = 0;
    for await (const batch of cache.batches({ batchSize: 50 })) images += batch.indices.length;
    expect(images).toBe(144);
    await cache.close();
    expect(await run(prepareCommand, args)).toContain('reused (no decoding)');
  });

  it('rejects a bad size with E_CONFIG', async () => {
    await expect(
      run(prepareCommand, [SAMPLE, '--size', '0', '--cache-dir', join(dir, 'c2')]),
    ).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: 'expected an integer from 1 to 4096 for --size but received "0"; e.g. --size 224',
    });
  });
});

describe('lesionlab augment-preview', () => {
  it('writes a PNG grid for one image and for a folder', async () => {
    const image = join(
      SAMPLE,
      'HAM10000_images_part_1',
      at(await readdir(join(SAMPLE, 'HAM10000_images_part_1')), 0),
    );
    const single = join(dir, 'single.png');
    expect(await run(augmentPreviewCommand, [image, '--out', single, '--n', '4', '--size', '40'])).toContain(
      'wrote',
    );
    // 2x2 tiles of 40 px with 2 px gaps: 3 * 2 + 2 * 40 = 86.
    expect(await sharp(single).metadata()).toMatchObject({
      format: 'png',
      width: 86,
      height: 86,
      channels: 3,
    });
    const folder = join(dir, 'folder.png');
    await run(augmentPreviewCommand, [SAMPLE, '--out', folder, '--n', '3', '--size', '20', '--seed', '5']);
    // 3 pairs -> 4 columns x 2 rows of 20 px tiles.
    expect(await sharp(folder).metadata()).toMatchObject({ width: 4 * 20 + 5 * 2, height: 2 * 20 + 3 * 2 });
  });

  it('rejects an unknown augmentation key and a missing input', async () => {
    const config = join(dir, 'aug.json');
    await writeFile(config, JSON.stringify({ rotation: 10 }));
    await expect(
      run(augmentPreviewCommand, [SAMPLE, '--out', join(dir, 'x.png'), '--config', config]),
    ).rejects.toMatchObject({
      code: 'E_CONFIG',
    });
    await expect(
      run(augmentPreviewCommand, [join(dir, 'none.jpg'), '--out', join(dir, 'y.png')]),
    ).rejects.toMatchObject({
      code: 'E_MISSING_FILE',
    });
  });
});
