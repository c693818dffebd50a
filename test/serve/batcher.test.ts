import { describe, expect, it } from 'vitest';
import { at } from '../../src/core/util/at.js';
import { ApiError } from '../../src/serve/api-error.js';
import { MicroBatcher } from '../../src/serve/batcher.js';
import { Semaphore } from '../../src/serve/semaphore.js';

const echo = (calls: number[]) => async (batch: Uint8Array, count: number) => {
  calls.push(count);
  return Array.from({ length: count }, (_, i) => Float32Array.from(batch.subarray(i * 2, i * 2 + 2)));
};

describe('MicroBatcher', () => {
  it('runs concurrent submissions together and routes each row back to its caller', async () => {
    const calls: number[] = [];
    const b = new MicroBatcher(echo(calls), 2, { maxBatch: 4, maxWaitMs: 10, maxQueue: 100 });
    const rows = await Promise.all([1, 2, 3, 4, 5, 6].map((v) => b.submit(Uint8Array.of(v, v * 10))));
    expect(rows.map((r) => Array.from(r))).toEqual([1, 2, 3, 4, 5, 6].map((v) => [v, v * 10]));
    expect(calls).toEqual([4, 2]);
    expect(b.stats()).toEqual({ batches: 2, images: 6, soloBatches: 0, queued: 0, incoming: 0 });
  });

  it('runs a lone image after at most maxWaitMs', async () => {
    const calls: number[] = [];
    const b = new MicroBatcher(echo(calls), 2, { maxBatch: 8, maxWaitMs: 5, maxQueue: 100 });
    const t = performance.now();
    await b.submit(Uint8Array.of(1, 2));
    expect(performance.now() - t).toBeLessThan(500);
    expect(calls).toEqual([1]);
  });

  it('refuses submissions beyond maxQueue with a 503 and rejects a whole failed batch', async () => {
    const b = new MicroBatcher(async () => Promise.reject(new Error('boom')), 1, {
      maxBatch: 2,
      maxWaitMs: 50,
      maxQueue: 1,
    });
    const first = b.submit(Uint8Array.of(1));
    const second = b.submit(Uint8Array.of(2));
    await expect(second).rejects.toBeInstanceOf(ApiError);
    await expect(second).rejects.toMatchObject({ status: 503, code: 'E_BUSY' });
    await expect(first).rejects.toThrow('boom');
  });

  it('waits for admitted images still decoding, so batches fill under load', async () => {
    const calls: number[] = [];
    const b = new MicroBatcher(echo(calls), 2, { maxBatch: 4, maxWaitMs: 1000, maxQueue: 100 });
    const slots = [0, 1, 2, 3].map(() => b.reserve());
    const rows: Promise<Float32Array>[] = [];
    for (const [i, slot] of slots.entries()) {
      await new Promise((r) => setTimeout(r, 5)); // decodes finishing one by one
      rows.push(slot.submit(Uint8Array.of(i, i)));
    }
    await Promise.all(rows);
    expect(calls).toEqual([4]);
  });

  it('runs what is ready at once when nothing else is decoding (no wait at c=1)', async () => {
    const calls: number[] = [];
    const b = new MicroBatcher(echo(calls), 2, { maxBatch: 8, maxWaitMs: 10_000, maxQueue: 100 });
    const [a, c] = [b.reserve(), b.reserve()];
    c.cancel(); // e.g. an undecodable upload
    const t = performance.now();
    await a.submit(Uint8Array.of(1, 1));
    expect(performance.now() - t).toBeLessThan(1000);
    expect(calls).toEqual([1]);
    expect(b.stats().incoming).toBe(0);
  });

  it('runs a lone image at an idle engine on the solo engine, and batches and concurrent lanes on the workers', async () => {
    const lanes: number[] = [];
    const soloCalls: number[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let hold = false;
    const b = new MicroBatcher(
      {
        run: async (batch, count) => {
          lanes.push(count);
          if (hold) {
            hold = false;
            await held; // this batch is still running when the next image comes
          }
          return echo([])(batch, count);
        },
        solo: echo(soloCalls),
      },
      2,
      { maxBatch: 4, maxWaitMs: 5, maxQueue: 100, lanes: 2 },
    );
    // idle engine, one image, nothing decoding: the solo engine
    expect(Array.from(await b.submit(Uint8Array.of(7, 8)))).toEqual([7, 8]);
    expect(soloCalls).toEqual([1]);
    // three at once: one batch on the workers
    await Promise.all([1, 2, 3].map((v) => b.submit(Uint8Array.of(v, v))));
    expect(lanes).toEqual([3]);
    // a lone image while another batch still runs: a worker lane, not the solo engine
    lanes.length = 0;
    hold = true;
    const busy = Promise.all([1, 2].map((v) => b.submit(Uint8Array.of(v, v))));
    await new Promise((r) => setTimeout(r, 20));
    const lone = b.submit(Uint8Array.of(9, 9));
    await new Promise((r) => setTimeout(r, 20));
    expect(lanes).toEqual([2, 1]);
    release();
    await Promise.all([busy, lone]);
    expect(soloCalls).toEqual([1]);
    expect(b.stats()).toMatchObject({ batches: 4, images: 7, soloBatches: 1 });
  });

  it('refuses admission beyond maxQueue (decoding counts) with 503 E_BUSY and Retry-After', () => {
    const b = new MicroBatcher(echo([]), 2, { maxBatch: 4, maxWaitMs: 5, maxQueue: 2, retryAfterS: 3 });
    b.reserve();
    b.reserve();
    expect(b.saturated()).toBe(true);
    expect(() => b.reserve()).toThrow(
      expect.objectContaining({ status: 503, code: 'E_BUSY', retryAfterS: 3 }),
    );
  });

  it('reports each batch size and duration (seconds) to its observer', async () => {
    const seen: Array<[number, number]> = [];
    // each batch takes 30 ms of model time
    const slowEcho = async (batch: Uint8Array, count: number) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return echo([])(batch, count);
    };
    const b = new MicroBatcher(slowEcho, 2, { maxBatch: 2, maxWaitMs: 5, maxQueue: 10 }, (n, s) => {
      seen.push([n, s]);
    });
    const started = performance.now();
    await Promise.all([1, 2, 3].map((v) => b.submit(Uint8Array.of(v, v))));
    const wallSeconds = (performance.now() - started) / 1000;
    expect(seen.map(([n]) => n)).toEqual([2, 1]);
    for (const [, seconds] of seen) {
      expect(seconds).toBeGreaterThanOrEqual(0.025);
      expect(seconds).toBeLessThanOrEqual(wallSeconds);
    }
  });

  it('runs up to `lanes` batches at once, never more, and each waits only for its own rows', async () => {
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const slow = async (batch: Uint8Array, count: number) => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => release.push(resolve));
      running--;
      return Array.from({ length: count }, (_, i) => Float32Array.from(batch.subarray(i * 2, i * 2 + 2)));
    };
    const b = new MicroBatcher(slow, 2, { maxBatch: 2, maxWaitMs: 1, maxQueue: 100, lanes: 2 });
    const rows = [1, 2, 3, 4, 5, 6].map((v) => b.submit(Uint8Array.of(v, v)));
    await new Promise((r) => setTimeout(r, 20));
    expect(running).toBe(2); // two full batches started; the third waits for a lane
    while (release.length > 0 || running > 0) {
      release.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((await Promise.all(rows)).map((r) => at(r, 0))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(most).toBe(2);
    expect(b.stats()).toEqual({ batches: 3, images: 6, soloBatches: 0, queued: 0, incoming: 0 });
  });

  it('rejects an image of the wrong size', async () => {
    const b = new MicroBatcher(echo([]), 2);
    await expect(b.submit(Uint8Array.of(1))).rejects.toThrow(/expected 2/);
  });
});

describe('Semaphore', () => {
  it('never runs more than its limit at once and runs everything', async () => {
    const s = new Semaphore(2);
    let active = 0;
    let peak = 0;
    const done = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        s.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
          return i;
        }),
      ),
    );
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(2);
    await expect(s.run(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await s.run(async () => 'still works')).toBe('still works');
  });
});
