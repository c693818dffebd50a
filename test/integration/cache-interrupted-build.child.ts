// Child process of interrupted-build.test.ts: starts a cache build and freezes after the 3rd image is
// decoded, so the parent can kill it mid-build. Args: records JSON file, cache root.
import { readFile, writeFile } from 'node:fs/promises';
import type { ImageRecord } from '../../src/core/data/records.js';
import { prepareImageCache } from '../../src/node/preprocess/prepare-image-cache.js';
import { childArgs } from '../support/child-args.js';

const [recordsFile, cacheRoot] = childArgs('cache-interrupted-build.child.ts', [
  'records JSON file',
  'cache root',
]);
const records = JSON.parse(await readFile(recordsFile, 'utf8')) as ImageRecord[];
await prepareImageCache(
  records,
  { width: 4, height: 3, resize: 'stretch', colorConstancy: false },
  {
    cacheRoot,
    concurrency: 1,
    onProgress: (done) => {
      if (done !== 3) return;
      void writeFile(`${cacheRoot}/../frozen`, 'yes').then(() => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      });
    },
  },
);
