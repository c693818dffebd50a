import { spawn } from 'node:child_process';
import { access, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { at } from '../../src/core/util/at.js';
import { openImageCache } from '../../src/node/preprocess/image-cache.js';
import { prepareImageCache } from '../../src/node/preprocess/prepare-image-cache.js';
import { tempDir, writeImageSet } from '../support/image-files.js';

const ROOT = resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function waitFor(path: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} did not appear within ${ms} ms`);
}

it('a build killed midway leaves no cache that looks complete, and the next run cleans up and rebuilds', async () => {
  const dir = await tempDir();
  dirs.push(dir);
  const records = await writeImageSet(dir, 12);
  const recordsFile = join(dir, 'records.json');
  await writeFile(recordsFile, JSON.stringify(records));
  const cacheRoot = join(dir, 'cache');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'test/integration/cache-interrupted-build.child.ts'),
      recordsFile,
      cacheRoot,
    ],
    { cwd: ROOT, stdio: 'ignore' },
  );
  const exited = new Promise((r) => child.on('exit', r));
  await waitFor(join(dir, 'frozen'), 30_000);
  child.kill('SIGKILL');
  await exited;
  const left = await readdir(cacheRoot);
  expect(left).toHaveLength(1);
  const tmp = at(left, 0);
  expect(tmp).toMatch(new RegExp(`\\.tmp-${child.pid}-0$`));
  await expect(openImageCache(join(cacheRoot, tmp))).rejects.toMatchObject({ code: 'E_CACHE' });
  const cache = await prepareImageCache(
    records,
    { width: 4, height: 3, resize: 'stretch', colorConstancy: false },
    { cacheRoot },
  );
  expect(cache.count).toBe(12);
  expect(await readdir(cacheRoot)).toEqual([tmp.replace(/\.tmp-.*$/, '')]);
  await cache.close();
}, 60_000);
