import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { unzipTo } from '../../../src/node/data/unzip.js';

const dir = await mkdtemp(join(tmpdir(), 'lesionlab-unzip-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const bytes = (s: string) => new TextEncoder().encode(s);

describe('unzipTo', () => {
  it('unpacks flat and single-folder archives to the same layout, skipping macOS debris', async () => {
    await writeFile(
      join(dir, 'a.zip'),
      zipSync({
        top: { 'x.jpg': bytes('x'), sub: { 'y.jpg': bytes('y') } },
        __MACOSX: { '._x.jpg': bytes('m') },
      }),
    );
    expect(await unzipTo(join(dir, 'a.zip'), join(dir, 'a'))).toBe(2);
    expect((await readdir(join(dir, 'a'))).sort()).toEqual(['sub', 'x.jpg']);
    expect(await readFile(join(dir, 'a', 'sub', 'y.jpg'), 'utf8')).toBe('y');
    await writeFile(join(dir, 'b.zip'), zipSync({ 'x.jpg': bytes('x'), 'z.jpg': bytes('z') }));
    expect(await unzipTo(join(dir, 'b.zip'), join(dir, 'b'))).toBe(2);
  });

  it('refuses entries that escape the folder and explains a non-zip', async () => {
    await writeFile(join(dir, 'evil.zip'), zipSync({ '../evil.txt': bytes('!') }));
    await expect(unzipTo(join(dir, 'evil.zip'), join(dir, 'evil'))).rejects.toThrow(
      /^expected safe, readable archive entries for .*evil.zip but received an unsafe or broken entry \(invalid relative path: ..\/evil.txt\); refusing to unpack/,
    );
    await expect(readdir(dir)).resolves.not.toContain('evil.txt');
    await writeFile(join(dir, 'bad.zip'), 'not a zip');
    await expect(unzipTo(join(dir, 'bad.zip'), join(dir, 'bad'))).rejects.toThrow(
      /^expected a readable zip archive for .*bad.zip but received a file that does not open/,
    );
  });
});
