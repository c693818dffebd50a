import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { LesionlabError } from '../../core/errors.js';
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
    throw new LesionlabError(
      'E_CACHE',
      `${path}: no image cache index here; build it with \`lesionlab prepare\``,
      {
        cause: error,
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LesionlabError('E_CACHE', `${path}: not valid JSON; delete the cache folder to rebuild it`, {
      cause: error,
    });
  }
  const parsed = ImageCacheIndexSchema.safeParse(json);
  if (!parsed.success) {
    const issue = at(parsed.error.issues, 0);
    throw new LesionlabError(
      'E_CACHE',
      `${path}: not a lesionlab image cache index (${issue.path.join('.') || 'root'}: ${issue.message}); delete the cache folder to rebuild it`,
    );
  }
  const index = parsed.data;
  if (index.ids.length !== index.count || index.layout.totalBytes !== index.count * index.layout.imageBytes) {
    throw new LesionlabError(
      'E_CACHE',
      `${path}: count, ids and byte layout disagree; delete the cache folder to rebuild it`,
    );
  }
  return index;
}

/** Writes `index.json` into a (temporary) cache folder. */
export async function writeCacheIndex(dir: string, index: ImageCacheIndex): Promise<void> {
  await writeFile(join(dir, CACHE_INDEX_FILE), `${JSON.stringify(index)}\n`);
}
