import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { expected } from '../core/errors.js';

/** What a filesystem error code means for a write, and what the user can do about it. */
interface WriteProblem {
  readonly what: string;
  readonly fix: string;
}

const WRITE_PROBLEMS: Readonly<Record<string, WriteProblem>> = {
  ENOSPC: { what: 'disk full', fix: 'free some space or write to another disk' },
  EDQUOT: { what: 'disk quota exceeded', fix: 'free some space or write to another disk' },
  EFBIG: { what: 'file too large for this filesystem', fix: 'write to another disk' },
  EROFS: { what: 'read-only filesystem', fix: 'write to a writable folder' },
  EACCES: { what: 'permission denied', fix: 'fix the folder permissions or write to a folder you own' },
  EPERM: { what: 'permission denied', fix: 'fix the folder permissions or write to a folder you own' },
  ENOENT: { what: 'folder does not exist', fix: 'create the folder or check the path' },
  ENOTDIR: { what: 'a part of the path is a file, not a folder', fix: 'check the path' },
  EISDIR: { what: 'a folder is in the way', fix: 'remove it or choose another path' },
  EEXIST: { what: 'something is in the way', fix: 'remove it or choose another path' },
  EMFILE: { what: 'too many open files', fix: 'raise the open-file limit (ulimit -n) and try again' },
  EIO: { what: 'input/output error (failing disk?)', fix: 'check the disk and try again' },
};

/** The `code` of a Node.js system error (`ENOSPC`, …), or undefined for anything else. */
export function systemErrorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/** True for a Node.js system error that {@link writeError} turns into one readable line. */
export function isWriteSystemError(error: unknown): boolean {
  const code = systemErrorCode(error);
  return code !== undefined && code in WRITE_PROBLEMS;
}

/**
 * The one translation of a failed filesystem write: a Node.js system error (ENOSPC, EROFS, EACCES, ENOENT,
 * …) becomes `E_WRITE` with one line naming `path`, what went wrong and what to do, keeping the original as
 * `cause`. Anything else (a `LesionlabError`, a bug) is returned unchanged, so callers can `throw writeError(e, p)`.
 */
export function writeError(error: unknown, path: string): unknown {
  const code = systemErrorCode(error);
  const problem = code === undefined ? undefined : WRITE_PROBLEMS[code];
  if (problem === undefined) return error;
  return expected({
    what: 'a writable path',
    where: path,
    received: `a failed write (${problem.what}, ${code})`,
    fix: problem.fix,
    code: 'E_WRITE',
    cause: error,
  });
}

/**
 * {@link writeError}, after finding out what a bare ENOENT means: Node's recursive `mkdir` answers ENOENT on
 * a read-only filesystem too, so the nearest existing folder above `path` is probed for write access
 * (EROFS: read-only, EACCES: permission denied, a file: not a folder) before saying "folder does not exist".
 */
export async function writeFailure(error: unknown, path: string): Promise<unknown> {
  if (systemErrorCode(error) !== 'ENOENT') return writeError(error, path);
  const code = await probeAncestor(path);
  return writeError(
    code === undefined ? error : Object.assign(new Error(String(error)), { code, cause: error }),
    path,
  );
}

async function probeAncestor(path: string): Promise<string | undefined> {
  let dir = dirname(resolve(path));
  for (;;) {
    const info = await stat(dir).catch(() => undefined);
    if (info !== undefined) {
      if (!info.isDirectory()) return 'ENOTDIR';
      return access(dir, constants.W_OK).then(
        () => undefined,
        (e: unknown) => systemErrorCode(e),
      );
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Runs a write step on `path`, translating a filesystem failure with {@link writeFailure}. */
export async function writingTo<T>(path: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw await writeFailure(error, path);
  }
}
