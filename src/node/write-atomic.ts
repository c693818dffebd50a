import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFailure } from './fs-errors.js';

/**
 * Writes `data` to `path` via a temp file and rename, creating the folder; never leaves a half-written file
 * nor its temp file. A full disk, read-only folder, … throws one `E_WRITE` line naming `path`.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    throw await writeFailure(error, path);
  }
}

/**
 * Moves the finished folder `tmp` to `dir`, replacing an existing `dir` only once `tmp` is complete: the old
 * folder is renamed aside, the new one renamed in, then the old one removed (put back if the second rename fails).
 */
export async function swapInto(tmp: string, dir: string): Promise<void> {
  const old = `${dir}.old-${process.pid}-${Date.now()}`;
  const hadOld = await rename(dir, old).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  try {
    await rename(tmp, dir);
  } catch (error) {
    if (hadOld) await rename(old, dir).catch(() => {});
    throw error;
  }
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/**
 * True while process `pid` exists on this host (one of another user's answers EPERM: it exists too): whether the
 * writer that left a `.tmp-<pid>` folder or a lock file may still be at work.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
