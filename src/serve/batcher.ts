import { at } from '../core/util/at.js';
import { ApiError } from './api-error.js';

/** Runs a batch of `count` images (NHWC uint8, concatenated) and returns one probability row each. */
export type BatchRunner = (batch: Uint8Array, count: number) => Promise<Float32Array[]>;

/** Micro-batching settings. */
export interface BatcherOptions {
  /** Most images run together (default 8). */
  readonly maxBatch: number;
  /**
   * Longest an image waits for company while the engine is idle, in ms (default 5): a batch starts as soon as it
   * is full, or when no admitted image is still being decoded, or after this wait.
   */
  readonly maxWaitMs: number;
  /** Most images admitted and not yet running (decoding or waiting); more are refused with 503 (default 64). */
  readonly maxQueue: number;
  /** Seconds a refused client is told to wait (`Retry-After`, default 1). */
  readonly retryAfterS: number;
  /** Batches that may run at once (default 1; the inference pool's worker count). */
  readonly lanes: number;
}

/** Default micro-batching: up to 8 images, 5 ms wait, 64 admitted, Retry-After 1 s, one batch at a time. */
export const DEFAULT_BATCHER_OPTIONS: BatcherOptions = {
  maxBatch: 8,
  maxWaitMs: 5,
  maxQueue: 64,
  retryAfterS: 1,
  lanes: 1,
};

interface Pending {
  readonly pixels: Uint8Array;
  readonly since: number;
  readonly resolve: (row: Float32Array) => void;
  readonly reject: (error: unknown) => void;
}

/** Counters of a {@link MicroBatcher}. */
export interface BatcherStats {
  readonly batches: number;
  readonly images: number;
  /** Batches of one lone image run by the `solo` engine. */
  readonly soloBatches: number;
  /** Images decoded and waiting for a batch. */
  readonly queued: number;
  /** Images admitted and still being decoded. */
  readonly incoming: number;
}

/** A place in the batcher taken before decoding: submit the decoded pixels, or cancel (e.g. undecodable). */
export interface BatchSlot {
  submit(pixels: Uint8Array): Promise<Float32Array>;
  cancel(): void;
}

/** Called after each batch with its size and forward-pass seconds (for metrics). */
export type BatchObserver = (size: number, seconds: number) => void;

/** Engines a {@link MicroBatcher} runs batches on. */
export interface BatchEngines {
  /** Runs every batch, up to `lanes` at once. */
  readonly run: BatchRunner;
  /**
   * Runs a lone image that reached an idle engine (no other batch running, no image waiting or decoding)
   * instead of `run`: e.g. one session on every core, where `run` is one single-thread session per core, so an
   * idle server answers at the latency of all cores and a busy one at the throughput of the workers.
   */
  readonly solo?: BatchRunner;
}

/**
 * Collects concurrent single-image requests into batches. Up to `lanes` batches run at once; requests are admitted
 * (`reserve`) before they decode, so the batcher knows what is coming: after a batch, or when an image arrives
 * at an idle engine, it waits (at most `maxWaitMs`) only while admitted images are still decoding, and runs
 * as soon as `maxBatch` are ready. Admission is bounded: beyond `maxQueue` a 503 `E_BUSY` with Retry-After.
 */
export class MicroBatcher {
  private readonly queue: Pending[] = [];
  private running = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private immediate = false;
  private incoming = 0;
  private batches = 0;
  private images = 0;
  private soloBatches = 0;
  private readonly options: BatcherOptions;

  private readonly engines: BatchEngines;

  constructor(
    engines: BatchRunner | BatchEngines,
    private readonly itemBytes: number,
    options: Partial<BatcherOptions> = {},
    private readonly observe: BatchObserver = () => {},
  ) {
    this.engines = typeof engines === 'function' ? { run: engines } : engines;
    this.options = { ...DEFAULT_BATCHER_OPTIONS, ...options };
  }

  /** True when a new request would be refused (the admission queue is full). */
  saturated(): boolean {
    return this.queue.length + this.incoming >= this.options.maxQueue;
  }

  /** Admits one image before it is decoded; throws a 503 {@link ApiError} (with Retry-After) when full. */
  reserve(): BatchSlot {
    if (this.saturated()) {
      throw new ApiError(
        503,
        'E_BUSY',
        `server busy: ${this.queue.length + this.incoming} images admitted (limit ${this.options.maxQueue}); retry after ${this.options.retryAfterS} s`,
        { retryAfterS: this.options.retryAfterS },
      );
    }
    this.incoming++;
    let open = true;
    const close = () => {
      if (!open) return false;
      open = false;
      this.incoming--;
      return true;
    };
    return {
      submit: (pixels) =>
        close() ? this.enqueue(pixels) : Promise.reject(new Error('batch slot used twice')),
      cancel: () => {
        if (close()) this.schedule();
      },
    };
  }

  /** Admits and queues one image already decoded (NHWC uint8 at the model size); resolves with its probabilities. */
  submit(pixels: Uint8Array): Promise<Float32Array> {
    try {
      return this.reserve().submit(pixels);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Batches run (of them by the solo engine), images run, images waiting and images still decoding now. */
  stats(): BatcherStats {
    return {
      batches: this.batches,
      images: this.images,
      soloBatches: this.soloBatches,
      queued: this.queue.length,
      incoming: this.incoming,
    };
  }

  private enqueue(pixels: Uint8Array): Promise<Float32Array> {
    if (pixels.length !== this.itemBytes) {
      this.schedule();
      return Promise.reject(
        new Error(`batcher: image has ${pixels.length} bytes, expected ${this.itemBytes}`),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ pixels, since: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Starts a batch now, on the next turn of the event loop, or when the oldest image has waited enough. */
  private schedule(): void {
    const oldest = this.queue[0];
    if (this.running >= this.options.lanes || oldest === undefined) return;
    if (this.queue.length >= this.options.maxBatch) {
      void this.flush();
      return;
    }
    const waited = performance.now() - oldest.since;
    if (this.incoming === 0 || waited >= this.options.maxWaitMs) {
      // One event-loop turn lets synchronous submissions join the batch.
      if (!this.immediate) {
        this.immediate = true;
        setImmediate(() => {
          this.immediate = false;
          void this.flush();
        });
      }
      return;
    }
    this.timer ??= setTimeout(() => void this.flush(), this.options.maxWaitMs - waited);
  }

  private async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running >= this.options.lanes || this.queue.length === 0) return;
    const idle = this.running === 0;
    this.running++;
    const items = this.queue.splice(0, this.options.maxBatch);
    this.schedule(); // another lane may take what is left
    const lone = idle && items.length === 1 && this.queue.length === 0 && this.incoming === 0;
    const solo = lone ? this.engines.solo : undefined;
    const run = solo ?? this.engines.run;
    try {
      const batch = new Uint8Array(items.length * this.itemBytes);
      items.forEach((item, i) => {
        batch.set(item.pixels, i * this.itemBytes);
      });
      const start = performance.now();
      const rows = await run(batch, items.length);
      this.observe(items.length, (performance.now() - start) / 1000);
      this.batches++;
      this.images += items.length;
      if (solo) this.soloBatches++;
      items.forEach((item, i) => {
        item.resolve(at(rows, i));
      });
    } catch (error) {
      for (const item of items) item.reject(error);
    } finally {
      this.running--;
      this.schedule();
    }
  }
}
