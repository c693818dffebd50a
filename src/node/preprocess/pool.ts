import { at } from '../../core/util/at.js';

/**
 * Runs `task(item, index)` over `items` with at most `concurrency` tasks in flight, in index order of start.
 * The first rejection stops new tasks from starting, waits for those in flight, then rethrows.
 */
export async function forEachLimit<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        await task(at(items, index), index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const width = Math.max(1, Math.min(Math.floor(concurrency), items.length));
  await Promise.all(Array.from({ length: width }, worker));
  if (failure !== undefined) throw failure.error;
}
