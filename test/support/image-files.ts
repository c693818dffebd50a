import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ImageRecord } from '../../src/core/data/records.js';

/** A fresh temp folder for one test. */
export function tempDir(prefix = 'lesionlab-preprocess-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes a solid-colour PNG (lossless, so decoded pixels are exact). */
export async function writeSolidPng(
  path: string,
  width: number,
  height: number,
  rgb: readonly [number, number, number],
): Promise<void> {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  await sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
}

/** `n` tiny PNG images with distinct colours, ids `img_00`.. in reverse order (so sorting matters). */
export async function writeImageSet(dir: string, n: number, width = 6, height = 4): Promise<ImageRecord[]> {
  const records: ImageRecord[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const id = `img_${String(i).padStart(2, '0')}`;
    const path = join(dir, `${id}.png`);
    await writeSolidPng(path, width, height, colourOf(i));
    records.push({ imageId: id, label: 'nv', groupId: `g${i}`, path });
  }
  return records;
}

/** The colour `writeImageSet` gives image i. */
export function colourOf(i: number): [number, number, number] {
  return [(i * 40) % 256, 255 - ((i * 25) % 256), (i * 7) % 256];
}

/** Writes bytes that are not an image. */
export async function writeCorrupt(path: string): Promise<void> {
  await writeFile(path, Buffer.from('this is not a jpeg at all'));
}
