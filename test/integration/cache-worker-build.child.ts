// Child process of worker-build.test.ts: builds a cache in 2 worker threads and then simply returns, so the
// parent can check that the process ends on its own (workers stopped) after a build that succeeds or fails.
// Args: records JSON file, cache root. Prints one JSON line: { count } or { code }, and any warnings.
import { readFile } from 'node:fs/promises';
import type { ImageRecord } from '../../src/core/data/records.js';
import { isLesionlabError } from '../../src/core/errors.js';
import { prepareImageCache } from '../../src/node/preprocess/prepare-image-cache.js';
import { childArgs } from '../support/child-args.js';

const [recordsFile, cacheRoot] = childArgs('cache-worker-build.child.ts', [
  'records JSON file',
  'cache root',
]);
const records = JSON.parse(await readFile(recordsFile, 'utf8')) as ImageRecord[];
const warnings: string[] = [];
try {
  const cache = await prepareImageCache(
    records,
    { width: 32, height: 32, resize: 'crop', colorConstancy: false },
    { cacheRoot, workers: 2, logger: { info: () => {}, warn: (m) => warnings.push(m) } },
  );
  await cache.close();
  console.log(JSON.stringify({ count: cache.count, warnings }));
} catch (error) {
  console.log(JSON.stringify({ code: isLesionlabError(error) ? error.code : String(error), warnings }));
}
