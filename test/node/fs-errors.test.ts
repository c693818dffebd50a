import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LesionlabError } from '../../src/core/errors.js';
import { systemErrorCode, writeError, writeFailure, writingTo } from '../../src/node/fs-errors.js';
import { writeFileAtomic } from '../../src/node/write-atomic.js';

const dir = await mkdtemp(join(tmpdir(), 'fs-errors-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

function systemError(code: string, syscall = 'write'): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, ${syscall}`), { code, syscall, errno: -28 });
}

describe('writeError: one translation of failed filesystem writes', () => {
  it.each([
    [
      'ENOSPC',
      /^expected a writable path for out\/x\.csv but received a failed write \(disk full, ENOSPC\); free some space or write to another disk$/,
    ],
    [
      'EROFS',
      /^expected a writable path for out\/x\.csv but received a failed write \(read-only filesystem, EROFS\); write to a writable folder$/,
    ],
    ['EACCES', /but received a failed write \(permission denied, EACCES\); fix the folder permissions/],
    [
      'ENOENT',
      /but received a failed write \(folder does not exist, ENOENT\); create the folder or check the path/,
    ],
    ['ENOTDIR', /but received a failed write \(a part of the path is a file, not a folder, ENOTDIR\)/],
  ])('%s becomes one E_WRITE line naming the path', (code, message) => {
    const original = systemError(code);
    const translated = writeError(original, 'out/x.csv');
    expect(translated).toBeInstanceOf(LesionlabError);
    expect((translated as LesionlabError).code).toBe('E_WRITE');
    expect((translated as Error).message).toMatch(message);
    expect((translated as Error).cause).toBe(original);
  });

  it('passes other errors through unchanged', () => {
    const ours = new LesionlabError('E_BAD_IMAGE', 'x.jpg: cannot decode');
    const bug = new TypeError('undefined is not a function');
    expect(writeError(ours, 'p')).toBe(ours);
    expect(writeError(bug, 'p')).toBe(bug);
    expect(systemErrorCode(bug)).toBeUndefined();
    expect(systemErrorCode(systemError('ENOSPC'))).toBe('ENOSPC');
  });

  it('writingTo translates a failed step', async () => {
    await expect(writingTo('cache/f', () => Promise.reject(systemError('ENOSPC')))).rejects.toThrow(
      /^expected a writable path for cache\/f but received a failed write \(disk full, ENOSPC\)/,
    );
  });
});

describe('writeFailure: what a bare ENOENT means', () => {
  it('probes the nearest existing folder (recursive mkdir says ENOENT on a read-only disk too)', async () => {
    const file = join(dir, 'probe-file');
    await writeFile(file, 'x');
    const underFile = await writeFailure(systemError('ENOENT', 'mkdir'), join(file, 'a', 'b'));
    expect((underFile as Error).message).toMatch(
      /but received a failed write \(a part of the path is a file, not a folder, ENOTDIR\)/,
    );
    const writable = await writeFailure(systemError('ENOENT', 'mkdir'), join(dir, 'x', 'y'));
    expect((writable as Error).message).toMatch(
      /but received a failed write \(folder does not exist, ENOENT\)/,
    );
    const other = await writeFailure(systemError('ENOSPC'), join(dir, 'x'));
    expect((other as Error).message).toMatch(/disk full, ENOSPC/);
  });
});

describe('writeFileAtomic on an unwritable path', () => {
  it('throws E_WRITE naming the path (a parent that is a file fails even as root) and leaves nothing', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const target = join(file, 'sub', 'split.json');
    const error = await writeFileAtomic(target, '{}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LesionlabError);
    expect((error as LesionlabError).code).toBe('E_WRITE');
    expect((error as Error).message).toBe(
      `expected a writable path for ${target} but received a failed write (a part of the path is a file, not a folder, ENOTDIR); check the path`,
    );
    expect((await readdir(dir)).filter((n) => n.includes('tmp'))).toEqual([]);
  });
});
