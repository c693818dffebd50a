import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { ImageRecord } from '../../core/data/records.js';
import { expected } from '../../core/errors.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { describePreprocessSpec } from '../../core/preprocess/spec-schema.js';
import { at } from '../../core/util/at.js';
import { IMAGE_CACHE_FORMAT, IMAGE_CACHE_RESAMPLER, IMAGE_CACHE_VERSION } from './cache-index.js';
import { forEachLimit } from './pool.js';

/** What identifies an image cache: its folder name, the full fingerprint, and the records in cache order. */
export interface CacheKey {
  /** Folder name, e.g. `224x224-crop-sog-n10015-3f9a0c1d2e4b5a67`. */
  readonly name: string;
  /** sha256 (hex) over the format, resampler, spec and every image's id, size, mtime and ctime (ns). */
  readonly fingerprint: string;
  /** The records sorted by image id: the cache's order. */
  readonly records: readonly ImageRecord[];
}

/**
 * Computes the cache key of `records` under `spec` from each file's size, modification time and status-change
 * time in nanoseconds (no file is read): a changed, added or removed image, or another spec, gives another key.
 * ctime catches a replacement that keeps size and mtime (`cp -p`, `rsync -a`, `tar x`), which nothing can set
 * back. Stat costs ~0.25 s for HAM10000's 10,015 files where hashing their contents costs ~0.9-1.7 s for the
 * 40 MB of 200x150 JPEGs here and would grow to about a minute for the 2.6 GB originals. Throws
 * `E_DATA_INVALID` on duplicate image ids. A missing file enters the key as size -1 (decoding reports it).
 */
export async function computeCacheKey(
  records: readonly ImageRecord[],
  spec: PreprocessSpec,
): Promise<CacheKey> {
  const sorted = [...records].sort((a, b) => (a.imageId < b.imageId ? -1 : a.imageId > b.imageId ? 1 : 0));
  for (const [i, record] of sorted.entries()) {
    const previous = sorted[i - 1];
    if (previous?.imageId === record.imageId) {
      throw expected({
        what: 'unique image ids (to cache images)',
        where: 'the dataset',
        received: `image id "${record.imageId}" twice (${previous.path}, ${record.path})`,
        fix: 'give each image its own id',
        code: 'E_DATA_INVALID',
      });
    }
  }
  const stamps = new Array<string>(sorted.length);
  await forEachLimit(sorted, 64, async (record, i) => {
    const s = await stat(record.path, { bigint: true }).catch(() => undefined);
    stamps[i] = s === undefined ? '-1:0:0' : `${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  });
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      format: IMAGE_CACHE_FORMAT,
      version: IMAGE_CACHE_VERSION,
      resampler: IMAGE_CACHE_RESAMPLER,
      spec,
    }),
  );
  for (const [i, record] of sorted.entries()) hash.update(`\n${record.imageId}\t${at(stamps, i)}`);
  const fingerprint = hash.digest('hex');
  const name = `${describePreprocessSpec(spec)}-n${sorted.length}-${fingerprint.slice(0, 16)}`;
  return { name, fingerprint, records: sorted };
}
