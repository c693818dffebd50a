// A fixed set of worker threads answering requests (the decode pool, the inference pool): the pool side.
// Each request goes to the live worker with the fewest in flight; replies and errors come back by id, and a
// `LesionlabError` keeps its code and message across the thread boundary. A worker that exits or throws fails
// only the requests it held (with a `WorkerLostError`) and is replaced, a few times a minute at most.
import { Worker } from 'node:worker_threads';
import { LesionlabError, type LesionlabErrorCode } from '../../core/errors.js';
import type { WorkerError, WorkerReply } from './serve-requests.js';
import { sizeWorkerHeaps } from './worker-heap.js';

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

/**
 * A request failed because its worker thread died (exited, threw, or never got ready) before answering, or
 * because the pool has no worker left: the request itself may well be fine (code `E_BACKEND`). The HTTP API
 * answers it with a 503, never with a 4xx.
 */
export class WorkerLostError extends LesionlabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_BACKEND', message, options);
  }
}

interface Pending<Res> {
  readonly resolve: (value: Res) => void;
  readonly reject: (error: Error) => void;
}

/** One worker thread and the requests it holds; its listeners are attached before it can fail. */
class PoolThread<Res> {
  readonly thread: Worker;
  readonly pending = new Map<number, Pending<Res>>();
  /** True once the worker has posted `ready` (and still after it stops). */
  ready = false;
  /** Why the worker stopped (what its pending and later requests reject with); undefined while it runs. */
  stopped: Error | undefined;
  /** Resolves when the worker is ready; rejects with the raw cause if it stops first. */
  readonly started: Promise<void>;
  private markStarted: () => void = () => {};
  private failStart: (error: Error) => void = () => {};
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly label: string;

  /**
   * Starts a thread; `first`: one of the pool's first threads, which keep the process alive until ready (a
   * replacement holds it only while it has requests). `onStop` runs once, when the worker stops on its own.
   */
  constructor(
    options: ThreadPoolOptions<PoolWorkerData>,
    readonly first: boolean,
    private readonly onStop: (cause: Error) => void,
  ) {
    const label = options.label;
    this.label = label;
    this.started = new Promise((resolve, reject) => {
      this.markStarted = resolve;
      this.failStart = reject;
    });
    this.started.catch(() => {}); // no one awaits a replacement's start
    // No inherited flags: the parent's loaders (tsx, vitest) do not carry over; the bootstrap registers tsx.
    const thread = new Worker(options.entry, { workerData: options.data, execArgv: [] });
    this.thread = thread;
    if (!first) thread.unref();
    this.timer = setTimeout(() => {
      this.lost(new Error(`no ${label} worker ready after ${START_TIMEOUT_MS} ms`));
      void thread.terminate();
    }, START_TIMEOUT_MS).unref();
    thread.on('message', (reply: WorkerReply<Res>) => this.settle(reply));
    thread.on('error', (error) => this.lost(error));
    thread.on('exit', (code) => this.lost(new Error(`${label} worker exited with code ${code}`)));
  }

  send(id: number, request: object, transfer: readonly ArrayBuffer[], pending: Pending<Res>): void {
    if (this.pending.size === 0) this.thread.ref();
    this.pending.set(id, pending);
    try {
      this.thread.postMessage({ id, request }, transfer);
    } catch (error) {
      // E.g. a value that cannot be cloned: that request fails alone and keeps nothing alive.
      this.pending.delete(id);
      if (this.pending.size === 0) this.thread.unref();
      throw error;
    }
  }

  private settle(reply: WorkerReply<Res>): void {
    if (reply.type === 'ready') {
      if (this.ready || this.stopped !== undefined) return;
      this.ready = true;
      clearTimeout(this.timer);
      // An idle worker never keeps the process alive, even if a caller forgets close().
      if (this.pending.size === 0) this.thread.unref();
      this.markStarted();
      return;
    }
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.thread.unref();
    if (reply.type === 'done') pending.resolve(reply.value);
    else pending.reject(fromWorkerError(reply.error));
  }

  /** The worker stopped on its own (`cause`: it exited, threw or stayed silent) before answering its requests. */
  private lost(cause: Error): void {
    if (this.stopped !== undefined) return;
    const message = `the ${this.label} worker thread stopped before answering (${cause.message}); try again`;
    this.stop(new WorkerLostError(message, { cause }), cause);
    this.onStop(cause);
  }

  /** Rejects the pending requests (and the start, if still awaited) and refuses new ones; the first reason stays. */
  stop(error: Error, startError: Error = error): void {
    if (this.stopped === undefined) {
      this.stopped = error;
      clearTimeout(this.timer);
      this.failStart(startError);
    }
    for (const pending of this.pending.values()) pending.reject(this.stopped);
    this.pending.clear();
  }
}

/** Options of {@link ThreadPool.start}. */
export interface ThreadPoolOptions<Data extends PoolWorkerData> {
  /** Worker threads to keep running. */
  readonly size: number;
  /** The file each thread starts from (see {@link workerFiles}). */
  readonly entry: URL;
  /** `workerData` of every thread. */
  readonly data: Data;
  /** Names the pool in errors ("decode", "inference"). */
  readonly label: string;
  /**
   * Dead workers replaced per window (default: `size`, at least 3, per 60 s). Past it the dead stay dead until
   * the window allows another start; with none left the pool is {@link ThreadPool.broken}.
   */
  readonly restarts?: { readonly max: number; readonly windowMs: number };
}

/** A fixed set of worker threads, each answering `Req` with `Res` (see serve-requests.ts for the worker side). */
export class ThreadPool<Req extends object, Res> {
  private readonly threads: PoolThread<Res>[] = [];
  private nextId = 0;
  private closed = false;
  /** When recent replacements started (ms, oldest first), to cap them per window. */
  private readonly restartTimes: number[] = [];
  private readonly restarts: { readonly max: number; readonly windowMs: number };
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The last worker loss, named when no worker is left. */
  private lastLoss: Error | undefined;

  private constructor(private readonly options: ThreadPoolOptions<PoolWorkerData>) {
    this.restarts = options.restarts ?? { max: Math.max(3, options.size), windowMs: 60_000 };
  }

  /** Worker threads the pool keeps running (dead ones are replaced): its capacity. */
  get size(): number {
    return this.threads.length;
  }

  /** Worker threads ready to answer now (fewer than {@link size} while a replacement starts). */
  get live(): number {
    let n = 0;
    for (const t of this.threads) if (t.ready && t.stopped === undefined) n++;
    return n;
  }

  /** True when no worker is running or starting (all died, and the restart cap holds back new ones). */
  get broken(): boolean {
    return !this.closed && this.threads.every((t) => t.stopped !== undefined);
  }

  /** Starts the threads and waits until each is ready; on any failure stops them all and throws. */
  static async start<Req extends object, Res, Data extends PoolWorkerData>(
    options: ThreadPoolOptions<Data>,
  ): Promise<ThreadPool<Req, Res>> {
    sizeWorkerHeaps();
    const pool = new ThreadPool<Req, Res>(options);
    try {
      for (let i = 0; i < options.size; i++) pool.threads.push(pool.spawn(true));
      // Listeners are on every thread already: one that dies while another still starts is seen (and replaced).
      await Promise.all(pool.threads.map((t) => t.started));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** Sends `request` (moving `transfer`'s buffers) to the least busy live worker; resolves with its answer. */
  run(request: Req, transfer: readonly ArrayBuffer[] = []): Promise<Res> {
    // Ready workers first, then one still starting (it takes the request once ready); no array per request.
    let worker: PoolThread<Res> | undefined;
    for (const t of this.threads) {
      if (t.stopped === undefined && (worker === undefined || lessBusy(t, worker))) worker = t;
    }
    if (this.closed || worker === undefined) return Promise.reject(this.unavailable());
    const chosen = worker;
    return new Promise((resolve, reject) =>
      chosen.send(this.nextId++, request, transfer, { resolve, reject }),
    );
  }

  /** Stops the threads (pending requests reject); safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const w of this.threads) w.stop(new Error(`${this.options.label} pool is closed`));
    await Promise.all(this.threads.map((w) => w.thread.terminate()));
  }

  private spawn(first: boolean): PoolThread<Res> {
    const thread: PoolThread<Res> = new PoolThread<Res>(this.options, first, (cause) =>
      this.onStop(thread, cause),
    );
    return thread;
  }

  private unavailable(): Error {
    const { label } = this.options;
    if (this.closed) return new Error(`${label} pool is closed`);
    const { max, windowMs } = this.restarts;
    return new WorkerLostError(
      `the ${label} pool has no worker left (last: ${this.lastLoss?.message}; at most ${max} replacements` +
        ` per ${windowMs / 1000} s); try again later`,
      { cause: this.lastLoss },
    );
  }

  /** A worker died: replace it, unless the pool is closing or it died starting with the pool (the start fails). */
  private onStop(thread: PoolThread<Res>, cause: Error): void {
    this.lastLoss = cause;
    if (this.closed || (thread.first && !thread.ready)) return;
    this.replaceDead();
  }

  /** Starts a replacement for each dead thread while the cap allows; else retries when the window does. */
  private replaceDead(): void {
    const { max, windowMs } = this.restarts;
    const times = this.restartTimes;
    for (let i = 0; i < this.threads.length; i++) {
      if (this.threads[i]?.stopped === undefined) continue;
      const now = performance.now();
      while (times.length > 0 && now - (times[0] as number) >= windowMs) times.shift();
      if (times.length >= max) {
        if (max > 0 && this.retryTimer === undefined) {
          this.retryTimer = setTimeout(
            () => {
              this.retryTimer = undefined;
              if (!this.closed) this.replaceDead();
            },
            (times[0] as number) + windowMs - now,
          ).unref();
        }
        return;
      }
      times.push(now);
      try {
        this.threads[i] = this.spawn(false);
      } catch (error) {
        this.lastLoss = error instanceof Error ? error : new Error(String(error));
      }
    }
  }
}

/** Whether `a` should take a request before `b`: ready before starting, then fewer requests in flight. */
function lessBusy<Res>(a: PoolThread<Res>, b: PoolThread<Res>): boolean {
  return a.ready === b.ready ? a.pending.size < b.pending.size : a.ready;
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
