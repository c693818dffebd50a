import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { isLesionlabError } from '../../../src/core/errors.js';
import { ThreadPool, type ThreadPoolOptions, WorkerLostError } from '../../../src/node/threads/pool.js';

interface TestData {
  readonly module: string;
  readonly counter: SharedArrayBuffer;
  readonly plan: readonly string[];
  readonly rest?: string;
}
type Pool = ThreadPool<{ op: string; extra?: unknown }, string>;

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

/** A pool of test/support/pool-worker.ts threads; the i-th thread started follows `plan[i]` (see its entry). */
async function start(
  size: number,
  plan: readonly string[] = [],
  more: Partial<ThreadPoolOptions<TestData>> & { rest?: string } = {},
): Promise<Pool> {
  const data: TestData = {
    module: new URL('../../support/pool-worker.ts', import.meta.url).href,
    counter: new SharedArrayBuffer(4),
    plan,
    rest: more.rest,
  };
  const entry = new URL('../../support/pool-worker-entry.mjs', import.meta.url);
  const pool = await ThreadPool.start<{ op: string }, string, TestData>({
    size,
    entry,
    data,
    label: 'test',
    ...more,
  });
  pools.push(pool);
  return pool;
}

/** How `promise` settles within `ms`: `value`, `CODE: message` (LesionlabError), `Name: message`, or `pending`. */
async function outcome(promise: Promise<unknown>, ms = 10_000): Promise<string> {
  const timeout = sleep(ms, 'pending', { ref: false });
  return Promise.race([
    promise.then(String, (e: Error) => `${isLesionlabError(e) ? e.code : e.name}: ${e.message}`),
    timeout,
  ]);
}

/** Waits (up to 10 s) until `check()` holds. */
async function until(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited > 10_000) throw new Error('condition not met within 10 s');
    await sleep(20);
  }
}

describe('ThreadPool: a worker that dies', () => {
  it('fails only the requests it held, with a WorkerLostError, and is replaced', async () => {
    const pool = await start(2);
    const held = pool.run({ op: 'hang' }); // thread 0 (least busy, first)
    const died = pool.run({ op: 'die' }); // thread 1
    const error = await died.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerLostError);
    expect(await outcome(died)).toBe(
      'E_BACKEND: the test worker thread stopped before answering (test worker exited with code 3); try again',
    );
    expect(await outcome(held, 300)).toBe('pending');
    expect(pool.size).toBe(2);
    // Thread 1's replacement (thread 2) starts; once it is ready, the next request goes to it, not to busy thread 0
    // (a ready worker is preferred to one still starting, so wait for the start: under load it can take a while).
    await until(() => pool.live === 2);
    expect(await outcome(pool.run({ op: 'a' }))).toBe('a:2');
    expect(pool.live).toBe(2);
    expect(pool.broken).toBe(false);
  });

  it('is replaced after an uncaught exception too, and later requests reach the replacement', async () => {
    const pool = await start(1);
    expect(await outcome(pool.run({ op: 'crash' }))).toBe(
      'E_BACKEND: the test worker thread stopped before answering (boom); try again',
    );
    for (const op of ['x', 'y', 'z']) expect(await outcome(pool.run({ op }))).toBe(`${op}:1`);
    expect(pool.live).toBe(1);
  });

  it('caps replacements: past the cap the pool is broken and fails at once, then retries after the window', async () => {
    const pool = await start(1, ['ok', 'die-at-start', 'crash-at-start', 'ok'], {
      restarts: { max: 2, windowMs: 3000 },
    });
    expect(await outcome(pool.run({ op: 'die' }))).toMatch(/^E_BACKEND: .*exited with code 3/);
    await until(() => pool.broken);
    expect(pool.live).toBe(0);
    const at = performance.now();
    expect(await outcome(pool.run({ op: 'x' }))).toBe(
      'E_BACKEND: the test pool has no worker left (last: thread 2 failed to start; at most 2 replacements per 3 s); try again later',
    );
    expect(performance.now() - at).toBeLessThan(100);
    // Once the window allows, the pool starts a worker again.
    await until(() => !pool.broken && pool.live === 1);
    expect(await outcome(pool.run({ op: 'x' }))).toBe('x:3');
  });

  it('replaces no worker after close', async () => {
    const pool = await start(1);
    const held = outcome(pool.run({ op: 'hang' }));
    await pool.close();
    expect(await held).toBe('Error: test pool is closed');
    expect(await outcome(pool.run({ op: 'x' }))).toBe('Error: test pool is closed');
    expect(pool.live).toBe(0);
    expect(pool.broken).toBe(false);
  });
});

describe('ThreadPool: start-up', () => {
  it.each(['die-after-ready', 'crash-after-ready'])(
    'answers every request when a ready thread stops (%s) while another still starts',
    async (step) => {
      const pool = await start(2, [step, 'slow']);
      const answers = await Promise.all(['a', 'b', 'c'].map((op) => outcome(pool.run({ op }))));
      expect(answers.map((a) => a.replace(/:\d+$/, ''))).toEqual(['a', 'b', 'c']);
      await until(() => pool.live === 2);
    },
  );

  it('fails when a thread cannot start', async () => {
    await expect(start(2, ['ok', 'die-at-start'])).rejects.toThrow(/worker exited with code 5/);
    await expect(start(2, ['crash-at-start'])).rejects.toThrow('thread 0 failed to start');
  });
});

describe('ThreadPool: a request that cannot be sent', () => {
  it('fails alone and leaves its thread as idle as before', async () => {
    const pool = await start(2);
    const first = await outcome(pool.run({ op: 'x' })); // the first thread, the least busy of two idle ones
    const sent = pool.run({ op: 'fn', extra: () => 1 });
    expect(await outcome(sent)).toMatch(/^DataCloneError: .*could not be cloned/);
    // It holds nothing: it still takes the next request (a leaked entry would send it to the other thread).
    expect(await outcome(pool.run({ op: 'x' }))).toBe(first);
  });
});
