import { Worker } from 'node:worker_threads';
import { LesionlabError, type LesionlabErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { decodeImage, loadSharp } from './decode-image.js';
import type { DecodeReply, DecodeRequest, DecodeWorkerData, WorkerError } from './decode-worker.js';

/** Decodes and preprocesses images (as `decodeImage`), in worker threads or in this thread. */
export interface Decoder {
  /** Worker threads doing the work; 0 when decoding runs in this thread. */
  readonly workers: number;
  /** Decodes a file, or encoded image bytes (copied to the worker), to the model's input. */
  decode(source: string | Uint8Array, spec: PreprocessSpec): Promise<Uint8Array>;
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
  decode: (path, spec) => decodeImage(path, spec),
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

/** Milliseconds a worker may take to load its modules (tsx, sharp) before the pool gives up on it. */
const START_TIMEOUT_MS = 60_000;

const FROM_SOURCE = import.meta.url.endsWith('.ts');
/** The worker module, and the file a worker starts from: a tsx bootstrap when running from TypeScript. */
const WORKER_MODULE = new URL(FROM_SOURCE ? './decode-worker.ts' : './decode-worker.js', import.meta.url);
const WORKER_ENTRY = FROM_SOURCE ? new URL('./decode-worker.mjs', import.meta.url) : WORKER_MODULE;

interface Pending {
  readonly resolve: (pixels: Uint8Array) => void;
  readonly reject: (error: Error) => void;
}

/** One worker thread and the requests it holds. */
class PoolWorker {
  readonly pending = new Map<number, Pending>();
  stopped: Error | undefined;

  constructor(readonly thread: Worker) {
    thread.on('message', (reply: DecodeReply) => this.settle(reply));
    thread.on('error', (error) => this.stop(error));
    thread.on('exit', (code) => this.stop(new Error(`decode worker exited with code ${code}`)));
  }

  send(request: DecodeRequest, pending: Pending): void {
    if (this.pending.size === 0) this.thread.ref();
    this.pending.set(request.id, pending);
    this.thread.postMessage(request);
  }

  private settle(reply: DecodeReply): void {
    if (reply.type === 'ready') return;
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    // An idle worker never keeps the process alive, even if a caller forgets close().
    if (this.pending.size === 0) this.thread.unref();
    if (reply.type === 'done') pending.resolve(reply.pixels);
    else pending.reject(fromWorkerError(reply.error));
  }

  stop(error: Error): void {
    this.stopped ??= error;
    for (const pending of this.pending.values()) pending.reject(this.stopped);
    this.pending.clear();
  }
}

/** A fixed set of decode workers; each request goes to the worker with the fewest in flight. */
class DecodePool implements Decoder {
  private nextId = 0;
  private closed = false;

  private constructor(private readonly pool: readonly PoolWorker[]) {}

  get workers(): number {
    return this.pool.length;
  }

  /** Starts `size` workers and waits until each has loaded sharp; on any failure stops them all and throws. */
  static async start(size: number, entry = WORKER_ENTRY): Promise<DecodePool> {
    // sharp's docs: on glibc Linux the main thread must load sharp before any worker does.
    await loadSharp();
    const data: DecodeWorkerData = { module: WORKER_MODULE.href };
    // No inherited flags: the parent's loaders (tsx, vitest) do not carry over; the bootstrap registers tsx.
    const threads = Array.from({ length: size }, () => new Worker(entry, { workerData: data, execArgv: [] }));
    try {
      await Promise.all(threads.map(whenReady));
    } catch (error) {
      await Promise.all(threads.map((t) => t.terminate()));
      throw error;
    }
    for (const t of threads) t.unref();
    return new DecodePool(threads.map((t) => new PoolWorker(t)));
  }

  decode(path: string | Uint8Array, spec: PreprocessSpec): Promise<Uint8Array> {
    const live = this.pool.filter((w) => w.stopped === undefined);
    if (this.closed || live.length === 0) {
      return Promise.reject(this.pool[0]?.stopped ?? new Error('decode pool is closed'));
    }
    const worker = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const request: DecodeRequest = { id: this.nextId++, path, spec };
    return new Promise((resolve, reject) => worker.send(request, { resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.pool) w.stop(new Error('decode pool is closed'));
    await Promise.all(this.pool.map((w) => w.thread.terminate()));
  }
}

/** Resolves when `thread` posts `ready`; rejects if it fails, exits or stays silent first. */
function whenReady(thread: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`no worker ready after ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const done = (): void => {
      clearTimeout(timer);
      thread.off('message', onMessage).off('error', fail).off('exit', onExit);
    };
    const onMessage = (reply: DecodeReply): void => {
      if (reply.type !== 'ready') return;
      done();
      resolve();
    };
    const fail = (error: Error): void => {
      done();
      reject(error);
    };
    const onExit = (code: number): void => fail(new Error(`worker exited with code ${code} while starting`));
    thread.on('message', onMessage).on('error', fail).on('exit', onExit);
  });
}

/** Rebuilds an error posted by a worker: a `LesionlabError` keeps its code, message and stack. */
function fromWorkerError(posted: WorkerError): Error {
  const error =
    posted.code === undefined
      ? new Error(posted.message)
      : new LesionlabError(posted.code as LesionlabErrorCode, posted.message);
  if (posted.code === undefined) error.name = posted.name;
  if (posted.stack !== undefined) error.stack = posted.stack;
  return error;
}
