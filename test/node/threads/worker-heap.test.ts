import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { WORKER_INITIAL_OLD_SPACE_MB } from '../../../src/node/threads/worker-heap.js';

const exec = promisify(execFile);

/**
 * The old-generation limit (MB) at which the churning worker first started marking, from V8's trace: the isolate
 * that started marking most often (the main thread and tsx's loader thread allocate little).
 */
async function firstMarkingLimit(mode: 'sized' | 'default'): Promise<number> {
  const { stdout } = await exec(process.execPath, [
    '--trace-incremental-marking',
    '--import',
    'tsx',
    'test/support/worker-heap-child.ts',
    mode,
  ]);
  const starts = new Map<string, number[]>();
  const line = /\[\d+:(0x[0-9a-f]+)\][^\n]*Start \(allocation limit\)[^\n]*v8: \d+MB \/ (\d+)MB/g;
  for (const [, isolate, limit] of stdout.matchAll(line)) {
    starts.set(isolate!, [...(starts.get(isolate!) ?? []), Number(limit)]);
  }
  const busiest = [...starts.values()].sort((a, b) => b.length - a.length)[0];
  if (!busiest) throw new Error(`no isolate started marking:\n${stdout.slice(0, 2000)}`);
  return busiest[0]!;
}

describe('sizeWorkerHeaps', () => {
  it('lets a worker thread started after it grow its old generation to the set size before V8 marks it', {
    timeout: 30_000,
  }, async () => {
    const [sized, plain] = await Promise.all([firstMarkingLimit('sized'), firstMarkingLimit('default')]);
    expect(plain).toBeLessThan(WORKER_INITIAL_OLD_SPACE_MB);
    expect(sized).toBeGreaterThanOrEqual(WORKER_INITIAL_OLD_SPACE_MB);
  });
});
