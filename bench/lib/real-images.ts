import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';

/** The `.jpg` file names in a folder, sorted; none when the folder is missing. */
export async function jpegNames(folder: string): Promise<string[]> {
  return (await readdir(folder).catch(() => [])).filter((f) => f.endsWith('.jpg')).sort();
}

/** Those images stretched to size x size, raw 0..255 RGB (as the backbones take them), as one batch. */
export async function imageBatch(
  folder: string,
  names: readonly string[],
  size: number,
): Promise<tf.Tensor4D> {
  const pixels = new Float32Array(names.length * size * size * 3);
  for (const [i, name] of names.entries()) {
    const raw = await sharp(join(folder, name))
      .resize(size, size, { fit: 'fill' })
      .removeAlpha()
      .raw()
      .toBuffer();
    pixels.set(raw, i * size * size * 3);
  }
  return tf.tensor4d(pixels, [names.length, size, size, 3]);
}
