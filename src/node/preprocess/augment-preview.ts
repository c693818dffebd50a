import { readdir, rename, rm, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { mulberry32, shuffled } from '../../core/data/prng.js';
import { expected } from '../../core/errors.js';
import { augmentBatch } from '../../core/preprocess/augment.js';
import type { AugmentConfig } from '../../core/preprocess/augment-config.js';
import { tileImages } from '../../core/preprocess/grid.js';
import type { RawImage } from '../../core/preprocess/resize.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { at } from '../../core/util/at.js';
import { decodeImage, loadSharp } from './decode-image.js';

/** What to draw in an augmentation preview. */
export interface AugmentPreviewOptions {
  /** An image file, or a folder searched (recursively) for .jpg/.jpeg/.png/.webp/.tif images. */
  readonly input: string;
  /** PNG file to write. */
  readonly out: string;
  /** Augmented tiles: variants of one image, or images picked (seeded) from a folder. */
  readonly count: number;
  readonly seed: number;
  readonly spec: PreprocessSpec;
  readonly augment: AugmentConfig;
}

/** What was written. */
export interface AugmentPreviewResult {
  readonly out: string;
  readonly width: number;
  readonly height: number;
  /** Source image of each original/augmented pair or, for one input image, that image. */
  readonly sources: readonly string[];
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff']);

/**
 * Writes a PNG contact sheet of `augmentBatch` at work. One image: the original first, then `count - 1`
 * augmentations of it. A folder: `count` images picked with `seed`, each as an original/augmented pair.
 */
export async function writeAugmentPreview(options: AugmentPreviewOptions): Promise<AugmentPreviewResult> {
  const single = await isFile(options.input);
  const sources = single ? [options.input] : await pickImages(options.input, options.count, options.seed);
  const originals = await Promise.all(sources.map((path) => decodeImage(path, options.spec)));
  const inputs = single
    ? Array.from({ length: Math.max(1, options.count - 1) }, () => at(originals, 0))
    : originals;
  const augmented = augmentPixels(inputs, options.spec, options.augment, options.seed);
  const tiles = single
    ? [at(originals, 0), ...augmented]
    : originals.flatMap((o, i) => [o, at(augmented, i)]);
  const columns = single ? Math.ceil(Math.sqrt(tiles.length)) : 2 * Math.ceil(Math.sqrt(sources.length / 2));
  const grid = tileImages(tiles, { tileWidth: options.spec.width, tileHeight: options.spec.height, columns });
  await writePng(options.out, grid);
  return { out: options.out, width: grid.width, height: grid.height, sources };
}

function augmentPixels(
  images: readonly Uint8Array[],
  spec: PreprocessSpec,
  config: AugmentConfig,
  seed: number,
): Uint8Array[] {
  const shape: [number, number, number, number] = [images.length, spec.height, spec.width, 3];
  const flat = new Float32Array(images.length * spec.height * spec.width * 3);
  for (const [i, image] of images.entries()) flat.set(image, i * image.length);
  const batch = tf.tensor4d(flat, shape);
  const out = augmentBatch(batch, config, seed);
  const values = tf.tidy(() => tf.cast(tf.round(out), 'int32').dataSync());
  tf.dispose([batch, out]);
  const bytes = Uint8Array.from(values);
  const size = spec.height * spec.width * 3;
  return images.map((_, i) => bytes.subarray(i * size, (i + 1) * size));
}

async function isFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) {
    throw expected({
      what: 'an image or a folder of images',
      where: path,
      received: 'no such image or folder',
      fix: 'check the path',
      code: 'E_MISSING_FILE',
    });
  }
  return info.isFile();
}

async function pickImages(root: string, count: number, seed: number): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  const images = entries.filter((e) => IMAGE_EXTENSIONS.has(extname(e).toLowerCase())).sort();
  if (images.length === 0) {
    throw expected({
      what: 'images (.jpg, .jpeg, .png, .webp, .tif) in this folder or below',
      where: root,
      received: 'none',
      fix: 'pass a folder that holds images, or one image',
      code: 'E_MISSING_FILE',
    });
  }
  return shuffled(images, mulberry32(seed))
    .slice(0, count)
    .map((e) => join(root, e));
}

/** Encodes RGB pixels as PNG and writes them atomically (temp file, then rename). */
export async function writePng(path: string, image: RawImage): Promise<void> {
  const sharp = await loadSharp();
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
      .png()
      .toFile(tmp);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw expected({
      what: 'a PNG file that can be written',
      where: path,
      received: `a failed write (${reason})`,
      fix: 'does its folder exist?',
      code: 'E_INPUT',
      cause: error,
    });
  }
}
