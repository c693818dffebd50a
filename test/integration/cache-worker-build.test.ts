import { execFile } from 'node:child_process';
import { copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../src/core/data/records.js';
import type { PreprocessSpec } from '../../src/core/preprocess/spec.js';
import { at } from '../../src/core/util/at.js';
import { CACHE_DATA_FILE, CACHE_INDEX_FILE } from '../../src/node/preprocess/cache-index.js';
import { prepareImageCache } from '../../src/node/preprocess/prepare-image-cache.js';
import { failureOf } from '../support/failure.js';
import { tempDir, writeCorrupt } from '../support/image-files.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SAMPLE = join(ROOT, 'data/sample/ham10000');
const SPEC: PreprocessSpec = { width: 80, height: 60, resize: 'crop', colorConstancy: true };

let dir: string;
let records: ImageRecord[];
beforeAll(async () => {
  dir = await tempDir();
  // A private copy of 24 sample images, so that tests may corrupt or remove some.
  const folder = join(SAMPLE, 'HAM10000_images_part_1');
  const files = (await readdir(folder)).sort().slice(0, 24);
  records = [];
  for (const file of files) {
    await copyFile(join(folder, file), join(dir, file));
    const id = file.replace(/\.jpg$/, '');
    records.push({ imageId: id, label: 'nv', groupId: id, path: join(dir, file) });
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const warnings: string[] = [];
const logger = { info: () => {}, warn: (m: string) => warnings.push(m) };

async function build(name: string, workers: number, skipBadImages = false) {
  const cacheRoot = join(dir, name);
  const options = { cacheRoot, workers, concurrency: 4, skipBadImages, logger };
  const cache = await prepareImageCache(records, SPEC, options);
  await cache.close();
  const data = await readFile(join(cache.dir, CACHE_DATA_FILE));
  const { createdAt: _, ...index } = JSON.parse(await readFile(join(cache.dir, CACHE_INDEX_FILE), 'utf8'));
  return { data, index, cacheRoot };
}

/** Runs cache-worker-build.child.ts under `node --import tsx`; resolves with its output once it exits on its own. */
function runChild(recordsFile: string, cacheRoot: string): Promise<string> {
  const child = join(ROOT, 'test/integration/cache-worker-build.child.ts');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', child, recordsFile, cacheRoot],
      { cwd: ROOT, timeout: 50_000 },
      (error, stdout) => (error ? reject(error) : resolve(stdout.trim())),
    );
  });
}

describe('image cache built in worker threads', () => {
  it('is byte-identical to one built in the main thread', async () => {
    const inThread = await build('main', 0);
    const inWorkers = await build('workers', 2);
    expect(inWorkers.data.length).toBe(records.length * SPEC.width * SPEC.height * 3);
    expect(inWorkers.data.equals(inThread.data)).toBe(true);
    expect(inWorkers.index).toEqual(inThread.index);
    expect(warnings).toEqual([]); // the workers started: no fallback to the main thread
  });

  it('fails on a corrupt image with the one-line error and leaves nothing behind, or skips it', async () => {
    const bad = at(records, 5);
    const good = await readFile(bad.path);
    await writeCorrupt(bad.path);
    try {
      const cacheRoot = join(dir, 'strict');
      const message = await failureOf(prepareImageCache(records, SPEC, { cacheRoot, workers: 2 }));
      expect(message).toMatch(
        new RegExp(
          `^E_BAD_IMAGE: expected an image lesionlab can decode for .*${bad.imageId}\\.jpg but received a file it cannot decode \\(`,
        ),
      );
      expect(await readdir(cacheRoot)).toEqual([]);
      const skipping = await build('skip', 2, true);
      expect(skipping.index.count).toBe(records.length - 1);
      expect(skipping.index.skipped).toMatchObject([{ id: bad.imageId, code: 'E_BAD_IMAGE' }]);
      expect(warnings).toEqual([
        expect.stringMatching(new RegExp(`^skipping ${bad.imageId}: .*cannot decode`)),
      ]);
    } finally {
      await copyFile(join(SAMPLE, 'HAM10000_images_part_1', `${bad.imageId}.jpg`), bad.path);
      expect((await readFile(bad.path)).equals(good)).toBe(true);
    }
  });

  it('lets a process under `node --import tsx` end by itself after a build that succeeds or fails', async () => {
    const recordsFile = join(dir, 'records.json');
    await writeFile(recordsFile, JSON.stringify(records));
    expect(JSON.parse(await runChild(recordsFile, join(dir, 'child-ok')))).toEqual({
      count: records.length,
      warnings: [],
    });
    const missing = [...records, { ...records[0], imageId: 'ISIC_missing', path: join(dir, 'missing.jpg') }];
    await writeFile(recordsFile, JSON.stringify(missing));
    expect(JSON.parse(await runChild(recordsFile, join(dir, 'child-fail')))).toEqual({
      code: 'E_MISSING_FILE',
      warnings: [],
    });
    expect(await readdir(join(dir, 'child-fail'))).toEqual([]);
  });
});
