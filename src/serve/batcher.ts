import { ApiError } from './api-error.js';

/** Runs a batch of `count` images (NHWC uint8, concatenated) and returns one probability row each. */
export type BatchRunner = (batch: Uint8Array, count: number) => Promise<Float32Array[]>;

/** Micro-batching settings. */
export interface BatcherOptions {
  /** Most images run together (default 8). */
  readonly maxBatch: number;
  /** How long the first waiting image waits for company when the engine is idle, in ms (default 2). */
  readonly maxWaitMs: number;
  /** Most images waiting; more are refused with 503 (default 256). */
  readonly maxQueue: number;
}

/** Default micro-batching: up to 8 images, 2 ms wait, 256 queued. */
export const DEFAULT_BATCHER_OPTIONS: BatcherOptions = { maxBatch: 8, maxWaitMs: 2, maxQueue: 256 };

interface Pending {
  readonly pixels: Uint8Array;
  readonly resolve: (row: Float32Array) => void;
  readonly reject: (error: unknown) => void;
}

/** Counters of a {@link MicroBatcher}. */
export interface BatcherStats {
  readonly batches: number;
  readonly images: number;
  readonly queued: number;
}

/**
 * Collects concurrent single-image requests into batches: one batch runs at a time; images that
 * arrive meanwhile wait and run together next, up to `maxBatch`; an image arriving at an idle engine
 * waits at most `maxWaitMs` for others.
 */
export class MicroBatcher {
  private readonly queue: Pending[] = [];
  private running = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private batches = 0;
  private images = 0;

  constructor(
    private readonly run: BatchRunner,
    private readonly itemBytes: number,
    private readonly options: BatcherOptions = DEFAULT_BATCHER_OPTIONS,
  ) {}

  /** Queues one image (NHWC uint8 at the model size) and resolves with its probabilities. */
  submit(pixels: Uint8Array): Promise<Float32Array> {
    if (pixels.length !== this.itemBytes) {
      return Promise.reject(
        new Error(`batcher: image has ${pixels.length} bytes, expected ${this.itemBytes}`),
      );
    }
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(
        new ApiError(503, 'E_BUSY', `server busy: ${this.queue.length} images waiting; retry later`),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ pixels, resolve, reject });
      this.schedule();
    });
  }

  /** Batches run, images run, and images waiting now. */
  stats(): BatcherStats {
    return { batches: this.batches, images: this.images, queued: this.queue.length };
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queue.length >= this.options.maxBatch || this.options.maxWaitMs <= 0) {
      void this.flush();
    } else {
      this.timer ??= setTimeout(() => void this.flush(), this.options.maxWaitMs);
    }
  }

  private async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const items = this.queue.splice(0, this.options.maxBatch);
    try {
      const batch = new Uint8Array(items.length * this.itemBytes);
      items.forEach((item, i) => {
        batch.set(item.pixels, i * this.itemBytes);
      });
      const rows = await this.run(batch, items.length);
      this.batches++;
      this.images += items.length;
      items.forEach((item, i) => {
        item.resolve(rows[i]);
      });
    } catch (error) {
      for (const item of items) item.reject(error);
    } finally {
      this.running = false;
      if (this.queue.length > 0) void this.flush();
    }
  }
}
