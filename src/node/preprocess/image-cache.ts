import { type FileHandle, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expected, shown } from '../../core/errors.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { at } from '../../core/util/at.js';
import { CACHE_DATA_FILE, type ImageCacheIndex, readCacheIndex, type SkippedImage } from './cache-index.js';

/** One batch of cached images: `pixels` holds `indices.length` images as NHWC uint8, contiguous. */
export interface ImageBatch {
  readonly indices: readonly number[];
  readonly pixels: Uint8Array;
}

/** Options of {@link ImageCache.batches}. */
export interface BatchOptions {
  /** Images per batch (default 32); the last batch may be smaller. */
  readonly batchSize?: number;
  /** Which images, in which order (e.g. a shuffled training subset); default: all, in cache order. */
  readonly indices?: readonly number[];
  /** Bytes per sequential read in a full pass (default 8 MiB, rounded to whole batches). */
  readonly chunkBytes?: number;
  /**
   * Give every batch its own memory. By default two buffers are reused, so a batch's `pixels` are valid only
   * until the next batch is requested (copy them to keep them); `fresh` costs page faults on every chunk.
   */
  readonly fresh?: boolean;
}

/** A built image cache opened for reading. Images are addressed by their position in `ids`. */
export interface ImageCache {
  readonly dir: string;
  readonly spec: PreprocessSpec;
  /**
   * What the pixels depend on: sha256 over the cache format, resampler, spec and every image's id, size,
   * mtime and ctime (see `computeCacheKey`). Caches derived from these pixels (features) key on it.
   */
  readonly fingerprint: string;
  readonly count: number;
  /** Image ids in cache order (sorted). */
  readonly ids: readonly string[];
  readonly height: number;
  readonly width: number;
  /** Bytes per image: height x width x 3. */
  readonly imageBytes: number;
  /** Images that could not be decoded and were left out (only when built with `skipBadImages`). */
  readonly skipped: readonly SkippedImage[];
  /** Position of `id` in the cache, or -1. */
  indexOf(id: string): number;
  /** Positions of `ids`; `E_CACHE` naming the first id that is not cached. */
  indicesOf(ids: readonly string[]): number[];
  /** The images at `indices`, in that order, as one NHWC uint8 array; runs of consecutive indices are read at once. */
  readBatch(indices: readonly number[]): Promise<Uint8Array>;
  /**
   * Batches over the cache, reading one chunk (full pass) or batch (`indices`) ahead. Unless `fresh`, a
   * batch's `pixels` are only valid until the next batch is requested.
   */
  batches(options?: BatchOptions): AsyncGenerator<ImageBatch>;
  /** Releases the file handle; later reads throw. */
  close(): Promise<void>;
}

const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
/** Largest single positional read (Linux reads at most ~2 GiB per call). */
const MAX_READ_BYTES = 1024 * 1024 * 1024;

/**
 * Opens the image cache in `dir` (a folder made by `prepareImageCache`). Throws `E_CACHE` when the folder
 * has no complete index or its data file has the wrong size.
 */
export async function openImageCache(dir: string): Promise<ImageCache> {
  const index = await readCacheIndex(dir);
  if (!index.complete) {
    throw expected({
      what: 'a complete image cache',
      where: dir,
      received: 'an incomplete one (an interrupted build)',
      fix: 'delete it to rebuild',
      code: 'E_CACHE',
    });
  }
  const dataPath = join(dir, CACHE_DATA_FILE);
  const size = await stat(dataPath).then(
    (s) => s.size,
    () => -1,
  );
  if (size !== index.layout.totalBytes) {
    throw expected({
      what: `${index.layout.totalBytes} bytes (as its index says)`,
      where: dataPath,
      received: size < 0 ? 'nothing' : `${size} bytes`,
      fix: 'delete the cache folder to rebuild it',
      code: 'E_CACHE',
    });
  }
  return imageCacheOf(dir, index, await open(dataPath, 'r'));
}

/** The opened cache: the index's facts, id lookups, and reads through one {@link CacheFile}. */
function imageCacheOf(dir: string, index: ImageCacheIndex, handle: FileHandle): ImageCache {
  const { height, width, imageBytes } = index.layout;
  const file = new CacheFile(dir, index.count, imageBytes, handle);
  const positions = new Map(index.ids.map((id, i) => [id, i]));
  const positionOf = (id: string): number => {
    const position = positions.get(id);
    if (position !== undefined) return position;
    throw expected({
      what: 'an image id in this cache',
      where: `image cache ${dir}`,
      received: shown(id),
      fix: 'rebuild the cache for this dataset',
      code: 'E_CACHE',
    });
  };
  return {
    dir,
    spec: index.spec,
    fingerprint: index.fingerprint,
    count: index.count,
    ids: index.ids,
    height,
    width,
    imageBytes,
    skipped: index.skipped,
    indexOf: (id) => positions.get(id) ?? -1,
    indicesOf: (ids) => ids.map(positionOf),
    readBatch: (indices) => file.readBatch(indices),
    batches: (options) => file.batches(options),
    close: () => file.close(),
  };
}

/** Positional reads of a cache's data file: images by index, batches ahead of their use. */
class CacheFile {
  constructor(
    private readonly dir: string,
    private readonly count: number,
    private readonly imageBytes: number,
    private handle: FileHandle | undefined,
  ) {}

  async readBatch(indices: readonly number[]): Promise<Uint8Array> {
    const out = allocate(indices.length * this.imageBytes);
    await this.readInto(indices, out);
    return out;
  }

  batches(options: BatchOptions = {}): AsyncGenerator<ImageBatch> {
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? 32));
    const buffers = new BufferRing(options.fresh ?? false);
    if (options.indices !== undefined) return this.indexedBatches(options.indices, batchSize, buffers);
    const perChunk = Math.max(
      1,
      Math.floor((options.chunkBytes ?? DEFAULT_CHUNK_BYTES) / this.imageBytes / batchSize),
    );
    return this.sequentialBatches(batchSize, perChunk * batchSize, buffers);
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  /** Reads the images at `indices` into `out`, one positional read per run of consecutive indices. */
  private async readInto(indices: readonly number[], out: Uint8Array): Promise<void> {
    const handle = this.open();
    const reads: Promise<void>[] = [];
    let start = 0;
    while (start < indices.length) {
      const first = at(indices, start);
      this.checkIndex(first);
      let end = start + 1;
      while (end < indices.length && indices[end] === first + (end - start)) end++;
      const bytes = (end - start) * this.imageBytes;
      reads.push(readFully(handle, out, start * this.imageBytes, bytes, first * this.imageBytes));
      start = end;
    }
    await Promise.all(reads);
  }

  private async *indexedBatches(
    indices: readonly number[],
    batchSize: number,
    ring: BufferRing,
  ): AsyncGenerator<ImageBatch> {
    for (const i of indices) this.checkIndex(i);
    const read = (b: number): Promise<ImageBatch> => {
      const slice = indices.slice(b, b + batchSize);
      const pixels = ring.next(slice.length * this.imageBytes);
      return quiet(this.readInto(slice, pixels).then(() => ({ indices: slice, pixels })));
    };
    let next = 0;
    let pending = indices.length > 0 ? read(next) : undefined;
    while (pending !== undefined) {
      const batch = await pending;
      next += batchSize;
      pending = next < indices.length ? read(next) : undefined;
      yield batch;
    }
  }

  private async *sequentialBatches(
    batchSize: number,
    chunkImages: number,
    ring: BufferRing,
  ): AsyncGenerator<ImageBatch> {
    const read = (first: number): Promise<Uint8Array> => {
      const out = ring.next(Math.min(chunkImages, this.count - first) * this.imageBytes);
      return quiet(readFully(this.open(), out, 0, out.length, first * this.imageBytes).then(() => out));
    };
    let next = 0;
    let pending = this.count > 0 ? read(next) : undefined;
    while (pending !== undefined) {
      const chunk = await pending;
      const first = next;
      next += chunkImages;
      pending = next < this.count ? read(next) : undefined;
      const n = chunk.length / this.imageBytes;
      for (let b = 0; b < n; b += batchSize) {
        const size = Math.min(batchSize, n - b);
        const indices = Array.from({ length: size }, (_, k) => first + b + k);
        yield { indices, pixels: chunk.subarray(b * this.imageBytes, (b + size) * this.imageBytes) };
      }
    }
  }

  private open(): FileHandle {
    if (this.handle === undefined) {
      throw expected({
        what: 'an open image cache',
        where: this.dir,
        received: 'a closed one',
        fix: 'open it again with openImageCache',
        code: 'E_CACHE',
      });
    }
    return this.handle;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw expected({
        what: `an image index from 0 to ${this.count - 1}`,
        where: `image cache ${this.dir}`,
        received: shown(index),
        code: 'E_INPUT',
      });
    }
  }
}

/**
 * Two alternating buffers: one being read ahead while the caller uses the other. Reusing them keeps a full
 * pass free of page faults (about 3x less CPU than fresh memory per chunk); `fresh` allocates every time.
 */
class BufferRing {
  private readonly slots: Uint8Array[] = [];
  private turn = 0;

  constructor(private readonly fresh: boolean) {}

  next(bytes: number): Uint8Array {
    if (this.fresh) return allocate(bytes);
    this.turn ^= 1;
    const slot = this.slots[this.turn];
    if (slot !== undefined && slot.length >= bytes) return slot.subarray(0, bytes);
    const grown = allocate(bytes);
    this.slots[this.turn] = grown;
    return grown;
  }
}

/** A zero-copy Uint8Array over fresh (unpooled, uninitialised) memory: every byte is overwritten by a read. */
function allocate(bytes: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, bytes);
}

/** Positional read of exactly `length` bytes (short reads are continued); `E_CACHE` if the file ends early. */
async function readFully(
  handle: FileHandle,
  target: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const want = Math.min(length - done, MAX_READ_BYTES);
    const { bytesRead } = await handle.read(target, offset + done, want, position + done);
    if (bytesRead === 0) {
      throw expected({
        what: `${length} bytes from byte ${position}`,
        where: 'image cache data',
        received: `the end of the file at byte ${position + done}`,
        fix: 'delete the cache folder to rebuild it',
        code: 'E_CACHE',
      });
    }
    done += bytesRead;
  }
}

/** Marks a prefetch promise as handled so that abandoning a generator early raises no unhandled rejection. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
