import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { issueProblem } from '../../core/config/zod-issue.js';
import { expected } from '../../core/errors.js';
import { parseJsonText } from '../../core/json-text.js';
import { PreprocessSpecSchema } from '../../core/preprocess/spec-schema.js';
import { at } from '../../core/util/at.js';

/** Marker and version of the on-disk image cache; a change of layout bumps the version (and the cache key). */
export const IMAGE_CACHE_FORMAT = 'lesionlab-image-cache';
export const IMAGE_CACHE_VERSION = 1;
/** How pixels were resampled; part of the cache key, so a change of resampler rebuilds caches. */
export const IMAGE_CACHE_RESAMPLER = 'sharp-decode+bilinear-half-pixel-v1';
/** File names inside a cache folder. */
export const CACHE_INDEX_FILE = 'index.json';
export const CACHE_DATA_FILE = 'images.u8';

/** An image left out of a cache built with `skipBadImages`, and why. */
export const SkippedImageSchema = z
  .object({
    id: z.string(),
    path: z.string(),
    code: z.enum(['E_BAD_IMAGE', 'E_MISSING_FILE']),
    reason: z.string(),
  })
  .strict();
export type SkippedImage = z.infer<typeof SkippedImageSchema>;

const positive = z.number().int().positive();

/**
 * `index.json` of an image cache. The data file holds `count` images back to back, each `imageBytes` =
 * height x width x 3 bytes of HWC RGB uint8, in the order of `ids` (sorted), so image i starts at byte
 * i x imageBytes. `complete` is written last; a cache without it is never used.
 */
export const ImageCacheIndexSchema = z
  .object({
    format: z.literal(IMAGE_CACHE_FORMAT),
    version: z.literal(IMAGE_CACHE_VERSION),
    key: z.string().min(1),
    fingerprint: z.string().min(1),
    resampler: z.string().min(1),
    spec: PreprocessSpecSchema,
    count: z.number().int().nonnegative(),
    ids: z.array(z.string()),
    layout: z
      .object({
        file: z.literal(CACHE_DATA_FILE),
        dtype: z.literal('uint8'),
        order: z.literal('NHWC'),
        height: positive,
        width: positive,
        channels: z.literal(3),
        imageBytes: positive,
        totalBytes: z.number().int().nonnegative(),
      })
      .strict(),
    skipped: z.array(SkippedImageSchema),
    complete: z.boolean(),
    createdAt: z.string(),
  })
  .strict();

/** The parsed `index.json` of an image cache. */
export type ImageCacheIndex = z.infer<typeof ImageCacheIndexSchema>;

/** Reads and validates a cache's `index.json`; `E_CACHE` with the reason when it is missing or malformed. */
export async function readCacheIndex(dir: string): Promise<ImageCacheIndex> {
  const path = join(dir, CACHE_INDEX_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw expected({
      what: 'an image cache index',
      where: path,
      received: 'no such file',
      fix: 'build it with `lesionlab prepare`',
      code: 'E_CACHE',
      cause: error,
    });
  }
  const fix = 'delete the cache folder to rebuild it';
  const json = parseJsonText(text, { where: path, fix, code: 'E_CACHE' });
  const parsed = ImageCacheIndexSchema.safeParse(json);
  if (!parsed.success) {
    const problem = issueProblem(at(parsed.error.issues, 0), json);
    const what = `a lesionlab image cache index (${problem.what} at ${problem.key})`;
    throw expected({ what, where: path, received: problem.received, fix, code: 'E_CACHE' });
  }
  const index = parsed.data;
  if (index.ids.length !== index.count || index.layout.totalBytes !== index.count * index.layout.imageBytes) {
    throw expected({
      what: 'a count, ids and byte layout that agree',
      where: path,
      received: `count ${index.count}, ${index.ids.length} ids, ${index.layout.totalBytes} bytes for ${index.layout.imageBytes} per image`,
      fix,
      code: 'E_CACHE',
    });
  }
  return index;
}

/** Writes `index.json` into a (temporary) cache folder. */
export async function writeCacheIndex(dir: string, index: ImageCacheIndex): Promise<void> {
  await writeFile(join(dir, CACHE_INDEX_FILE), `${JSON.stringify(index)}\n`);
}
