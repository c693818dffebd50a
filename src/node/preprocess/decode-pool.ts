import type { Logger } from '../../core/logger.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { type PoolWorkerData, ThreadPool, workerFiles } from '../threads/pool.js';
import { type DecodeHints, decodeImage, loadSharp } from './decode-image.js';
import type { DecodeRequest } from './decode-worker.js';

/** Decodes and preprocesses images (as `decodeImage`), in worker threads or in this thread. */
export interface Decoder {
  /** Worker threads doing the work; 0 when decoding runs in this thread. */
  readonly workers: number;
  /** Worker threads ready now (a dead one is replaced); absent when decoding runs in this thread. */
  readonly live?: number;
  /** True while no worker runs or starts (they kept dying): every decode fails until one starts again. */
  readonly broken?: boolean;
  /**
   * Decodes a file, or encoded image bytes (copied to the worker), to the model's input; `hints` from a caller that
   * has checked the image already (see `decodeImage`).
   */
  decode(source: string | Uint8Array, spec: PreprocessSpec, hints?: DecodeHints): Promise<Uint8Array>;
  /** Stops the workers (pending decodes reject); safe to call twice. */
  close(): Promise<void>;
}

/** Options of {@link startDecoder}. */
export interface DecoderOptions {
  /** Worker threads; 0 decodes in this thread. */
  readonly workers: number;
  /** Gets one line when workers cannot start and decoding falls back to this thread. */
  readonly logger: Logger;
  /** The file workers start from (default: the worker module, via a tsx bootstrap from sources); for tests. */
  readonly workerEntry?: URL;
}

/** Decodes in this thread. */
export const inThreadDecoder: Decoder = {
  workers: 0,
  decode: (path, spec, hints) => decodeImage(path, spec, undefined, hints),
  close: async () => {},
};

/**
 * Starts a decoder with `options.workers` worker threads (each runs `decodeImage`; pixels come back as
 * transferred buffers, errors as `LesionlabError`s with code and message intact). If the workers cannot start,
 * logs one warning and returns the in-thread decoder instead, so a build never fails for want of threads.
 */
export async function startDecoder(options: DecoderOptions): Promise<Decoder> {
  const size = Math.floor(options.workers);
  if (!(size >= 1)) return inThreadDecoder;
  try {
    return await DecodePool.start(size, options.workerEntry);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    options.logger.warn(`decode workers did not start (${reason}); decoding in the main thread`);
    return inThreadDecoder;
  }
}

const WORKER = workerFiles(import.meta.url, 'decode-worker');

/** A fixed set of decode workers; each request goes to the worker with the fewest in flight. */
class DecodePool implements Decoder {
  private constructor(private readonly pool: ThreadPool<DecodeRequest, Uint8Array>) {}

  get workers(): number {
    return this.pool.size;
  }

  get live(): number {
    return this.pool.live;
  }

  get broken(): boolean {
    return this.pool.broken;
  }

  /** Starts `size` workers and waits until each has loaded sharp; on any failure stops them all and throws. */
  static async start(size: number, entry = WORKER.entry): Promise<DecodePool> {
    // sharp's docs: on glibc Linux the main thread must load sharp before any worker does.
    await loadSharp();
    const data: PoolWorkerData = { module: WORKER.module.href };
    return new DecodePool(await ThreadPool.start({ size, entry, data, label: 'decode' }));
  }

  decode(path: string | Uint8Array, spec: PreprocessSpec, hints?: DecodeHints): Promise<Uint8Array> {
    return this.pool.run(hints ? { path, spec, hints } : { path, spec });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
