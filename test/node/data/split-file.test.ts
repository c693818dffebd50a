import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSplitFile } from '../../../src/core/data/split-schema.js';
import { readSplitFile, writeSplitFile } from '../../../src/node/data/split-file.js';

const dir = await mkdtemp(join(tmpdir(), 'lesionlab-split-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const records = ['a', 'b', 'c'].map((id) => ({ imageId: id, label: 'nv', groupId: id, path: '' }));

describe('split file I/O', () => {
  it('writes atomically (no temp left) and reads back the same object', async () => {
    const file = buildSplitFile(
      records,
      { format: 'ham10000', classes: ['nv'] },
      { kind: 'holdout', seed: 1, val: 0.3, test: 0.3, parts: { train: ['a'], val: ['b'], test: ['c'] } },
    );
    const path = join(dir, 'sub', 'split.json');
    await writeSplitFile(path, file);
    expect(await readdir(join(dir, 'sub'))).toEqual(['split.json']);
    expect(await readSplitFile(path)).toEqual(file);
  });

  it('explains a missing or invalid split file', async () => {
    await expect(readSplitFile(join(dir, 'none.json'))).rejects.toThrow(
      /none.json: cannot read the split file .*lesionlab split/,
    );
    await writeFile(join(dir, 'bad.json'), '{"format":"lesionlab-split"}');
    await expect(readSplitFile(join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'E_SPLIT' });
  });
});
