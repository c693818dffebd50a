// A fixed set of worker threads answering requests (the decode pool, the inference pool): the pool side.
// Each request goes to the live worker with the fewest in flight; replies and errors come back by id, and a
// `LesionlabError` keeps its code and message across the thread boundary.
import { Worker } from 'node:worker_threads';
import { LesionlabError, type LesionlabErrorCode } from '../../core/errors.js';
import type { WorkerError, WorkerReply } from './serve-requests.js';

/** What every pool passes in `workerData`: the URL of the worker module (read by the tsx bootstrap). */
export interface PoolWorkerData {
  readonly module: string;
}

/** Milliseconds a worker may take to load its modules (tsx, sharp, a model) before the pool gives up on it. */
const START_TIMEOUT_MS = 60_000;

const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * The worker module named `name` beside `base` (a module's `import.meta.url`), and the file a thread starts
 * from: the tsx bootstrap (ts-worker.mjs) when running from TypeScript, the compiled module itself otherwise.
 */
export function workerFiles(base: string, name: string): { module: URL; entry: URL } {
  const module = new URL(FROM_SOURCE ? `./${name}.ts` : `./${name}.js`, base);
  return { module, entry: FROM_SOURCE ? new URL('./ts-worker.mjs', import.meta.url) : module };
}

interface Pending<Res> {
  readonly resolve: (value: Res) => void;
  readonly reject: (error: Error) => void;
}

/** One worker thread and the requests it holds. */
class PoolThread<Res> {
  readonly pending = new Map<number, Pending<Res>>();
  stopped: Error | undefined;

  constructor(
    readonly thread: Worker,
    label: string,
  ) {
    thread.on('message', (reply: WorkerReply<Res>) => this.settle(reply));
    thread.on('error', (error) => this.stop(error));
    thread.on('exit', (code) => this.stop(new Error(`${label} worker exited with code ${code}`)));
  }

  send(id: number, request: object, transfer: readonly ArrayBuffer[], pending: Pending<Res>): void {
    if (this.pending.size === 0) this.thread.ref();
    this.pending.set(id, pending);
    this.thread.postMessage({ id, request }, transfer);
  }

  private settle(reply: WorkerReply<Res>): void {
    if (reply.type === 'ready') return;
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    // An idle worker never keeps the process alive, even if a caller forgets close().
    if (this.pending.size === 0) this.thread.unref();
    if (reply.type === 'done') pending.resolve(reply.value);
    else pending.reject(fromWorkerError(reply.error));
  }

  stop(error: Error): void {
    this.stopped ??= error;
    for (const pending of this.pending.values()) pending.reject(this.stopped);
    this.pending.clear();
  }
}

/** Options of {@link ThreadPool.start}. */
export interface ThreadPoolOptions<Data extends PoolWorkerData> {
  /** Worker threads to start. */
  readonly size: number;
  /** The file each thread starts from (see {@link workerFiles}). */
  readonly entry: URL;
  /** `workerData` of every thread. */
  readonly data: Data;
  /** Names the pool in errors ("decode", "inference"). */
  readonly label: string;
}

/** A fixed set of worker threads, each answering `Req` with `Res` (see serve-requests.ts for the worker side). */
export class ThreadPool<Req extends object, Res> {
  private nextId = 0;
  private closed = false;

  private constructor(
    private readonly threads: readonly PoolThread<Res>[],
    private readonly label: string,
  ) {}

  /** Worker threads in the pool. */
  get size(): number {
    return this.threads.length;
  }

  /** Starts the threads and waits until each is ready; on any failure stops them all and throws. */
  static async start<Req extends object, Res, Data extends PoolWorkerData>(
    options: ThreadPoolOptions<Data>,
  ): Promise<ThreadPool<Req, Res>> {
    // No inherited flags: the parent's loaders (tsx, vitest) do not carry over; the bootstrap registers tsx.
    const threads = Array.from(
      { length: options.size },
      () => new Worker(options.entry, { workerData: options.data, execArgv: [] }),
    );
    try {
      await Promise.all(threads.map(whenReady));
    } catch (error) {
      await Promise.all(threads.map((t) => t.terminate()));
      throw error;
    }
    for (const t of threads) t.unref();
    return new ThreadPool(
      threads.map((t) => new PoolThread<Res>(t, options.label)),
      options.label,
    );
  }

  /** Sends `request` (moving `transfer`'s buffers) to the least busy live worker; resolves with its answer. */
  run(request: Req, transfer: readonly ArrayBuffer[] = []): Promise<Res> {
    const live = this.threads.filter((w) => w.stopped === undefined);
    if (this.closed || live.length === 0) {
      return Promise.reject(this.threads[0]?.stopped ?? new Error(`${this.label} pool is closed`));
    }
    const worker = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return new Promise((resolve, reject) =>
      worker.send(this.nextId++, request, transfer, { resolve, reject }),
    );
  }

  /** Stops the threads (pending requests reject); safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.threads) w.stop(new Error(`${this.label} pool is closed`));
    await Promise.all(this.threads.map((w) => w.thread.terminate()));
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
    const onMessage = (reply: WorkerReply<unknown>): void => {
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
