import { readdir, rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { ImageRecord } from '../../core/data/records.js';
import { expected, isLesionlabError, LesionlabError } from '../../core/errors.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { parsePreprocessSpec } from '../../core/preprocess/spec-schema.js';
import { writingTo } from '../fs-errors.js';
import { processAlive } from '../write-atomic.js';
import { buildImageCache } from './build-image-cache.js';
import { readCacheIndex } from './cache-index.js';
import { type CacheKey, computeCacheKey } from './cache-key.js';
import { type ImageCache, openImageCache } from './image-cache.js';

/** Options of {@link prepareImageCache}. */
export interface PrepareImageCacheOptions {
  /** Folder that holds image caches, one sub-folder per key (e.g. `.cache/lesionlab`). */
  readonly cacheRoot: string;
  /** Images decoded at once (default: {@link defaultDecodeConcurrency}). */
  readonly concurrency?: number;
  /** Decode worker threads; 0 decodes in the main thread (default: {@link defaultDecodeWorkers}). */
  readonly workers?: number;
  /** Leave undecodable images out (listed in `cache.skipped` and logged) instead of failing. Default false. */
  readonly skipBadImages?: boolean;
  /**
   * How the caller's user asks for `skipBadImages` (e.g. `pass --skip-bad-images`): a bad image's error then
   * ends with that advice instead of the generic "skip bad images".
   */
  readonly skipAdvice?: string;
  readonly onProgress?: ProgressHook;
  readonly logger?: Logger;
}

/**
 * Images in flight during a build. In the main thread: 2 per CPU (sharp decodes on libuv threads while the
 * main thread resizes). With `workers` worker threads: 3 per worker, so each worker resizes one image while
 * sharp decodes the next (on the 2-vCPU bench machine 3 and 4 per worker measured alike, 2 slightly lower).
 */
export function defaultDecodeConcurrency(workers = 0): number {
  return workers > 0 ? 3 * workers : Math.max(2, 2 * availableParallelism());
}

/**
 * Decode worker threads for a build of `images` images: one per CPU, at most 4 (sharp decodes on the 4
 * libuv threads, and each worker costs ~80 MB and ~0.5 s of CPU to start), none below 500 images, where
 * starting them costs more than they save. On the 2-vCPU bench machine 2 workers beat 1 and 3.
 */
export function defaultDecodeWorkers(images: number): number {
  return images < 500 ? 0 : Math.min(4, availableParallelism());
}

/**
 * Returns the image cache of `records` under `spec`, building it when no complete cache with the same key
 * (spec + ids + file sizes/mtimes) exists under `cacheRoot`. Builds go to `<key>.tmp-<pid>-<n>` and are renamed
 * into place when complete; temp folders of dead processes are removed first. A bad image throws
 * `E_BAD_IMAGE`/`E_MISSING_FILE` naming the file (with `skipAdvice`, when given), unless `skipBadImages`.
 */
export async function prepareImageCache(
  records: readonly ImageRecord[],
  spec: PreprocessSpec,
  options: PrepareImageCacheOptions,
): Promise<ImageCache> {
  try {
    return await prepareOrBuild(records, spec, options);
  } catch (error) {
    throw withSkipAdvice(error, options.skipAdvice);
  }
}

/** A bad-image error whose advice names how this caller's user skips bad images; other errors unchanged. */
function withSkipAdvice(error: unknown, advice: string | undefined): unknown {
  const bad = isLesionlabError(error) && (error.code === 'E_BAD_IMAGE' || error.code === 'E_MISSING_FILE');
  if (advice === undefined || !bad) return error;
  const message = error.message.includes('or skip bad images')
    ? error.message.replace('or skip bad images', `or ${advice}`)
    : `${error.message}; or ${advice}`;
  return new LesionlabError(error.code, message, { cause: error.cause ?? error });
}

async function prepareOrBuild(
  records: readonly ImageRecord[],
  spec: PreprocessSpec,
  options: PrepareImageCacheOptions,
): Promise<ImageCache> {
  const checked = parsePreprocessSpec(spec);
  const logger = options.logger ?? silentLogger;
  const skipBadImages = options.skipBadImages ?? false;
  if (records.length === 0) {
    throw expected({
      what: 'at least one image record',
      where: 'prepareImageCache',
      received: 'none',
      fix: 'is the dataset empty?',
      code: 'E_INPUT',
    });
  }
  const root = resolve(options.cacheRoot);
  const key = await computeCacheKey(records, checked);
  const dir = join(root, key.name);
  const existing = await openIfValid(dir, key, logger);
  if (existing !== undefined) {
    logger.info(`image cache ${dir}: ${existing.count} images, reused`);
    return checkSkipped(existing, skipBadImages);
  }
  await removeStaleBuilds(root, key.name, logger);
  const workers = options.workers ?? defaultDecodeWorkers(records.length);
  const concurrency = options.concurrency ?? defaultDecodeConcurrency(workers);
  const where = workers > 0 ? `${workers} worker threads` : 'the main thread';
  logger.info(`building image cache ${dir}: ${records.length} images, ${concurrency} at a time in ${where}`);
  const tmp = `${dir}.tmp-${process.pid}-${buildCounter++}`;
  await writingTo(dir, async () => {
    await buildImageCache(tmp, key, checked, {
      concurrency,
      workers,
      skipBadImages,
      onProgress: options.onProgress,
      logger,
    });
    await publish(tmp, dir);
  });
  return openImageCache(dir);
}

let buildCounter = 0;

/** Opens `dir` if it holds a complete cache for `key`; removes a broken or incomplete one. */
async function openIfValid(dir: string, key: CacheKey, logger: Logger): Promise<ImageCache | undefined> {
  const index = await readCacheIndex(dir).catch(() => undefined);
  if (index === undefined) {
    await removeBroken(dir, logger);
    return undefined;
  }
  if (index.fingerprint !== key.fingerprint || !index.complete) {
    logger.warn(`${dir}: cache does not match its key or is incomplete; rebuilding it`);
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  try {
    return await openImageCache(dir);
  } catch (error) {
    logger.warn(`${dir}: ${error instanceof Error ? error.message : String(error)}; rebuilding it`);
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
}

async function removeBroken(dir: string, logger: Logger): Promise<void> {
  const entries = await readdir(dir).catch(() => undefined);
  if (entries === undefined) return;
  logger.warn(`${dir}: cache folder without a valid index; rebuilding it`);
  await rm(dir, { recursive: true, force: true });
}

/** Removes `<name>.tmp-<pid>-*` folders whose process is gone (builds that were interrupted). */
async function removeStaleBuilds(root: string, name: string, logger: Logger): Promise<void> {
  const entries = await readdir(root).catch(() => [] as string[]);
  const prefix = `${name}.tmp-`;
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number.parseInt(entry.slice(prefix.length), 10);
    if (Number.isInteger(pid) && processAlive(pid)) continue;
    logger.info(`removing interrupted cache build ${join(root, entry)}`);
    await rm(join(root, entry), { recursive: true, force: true });
  }
}

/** Renames a finished build into place; if another process got there first, keeps theirs. */
async function publish(tmp: string, dir: string): Promise<void> {
  try {
    await rename(tmp, dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    await rm(tmp, { recursive: true, force: true });
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
}

/** A cache built with skipped images serves a caller that does not skip only if nothing was skipped. */
async function checkSkipped(cache: ImageCache, skipBadImages: boolean): Promise<ImageCache> {
  const [first] = cache.skipped;
  if (skipBadImages || first === undefined) return cache;
  await cache.close();
  const more = cache.skipped.length > 1 ? ` (and ${cache.skipped.length - 1} more)` : '';
  throw new LesionlabError(first.code, `${first.reason}${more}`);
}
