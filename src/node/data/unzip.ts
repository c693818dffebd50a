import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { LesionlabError } from '../../core/errors.js';

/**
 * Streams every file of a zip archive into `destDir` (entry by entry, nothing held in memory). When all
 * entries share one top-level folder, that folder is dropped, so `part_1.zip` with `part_1/x.jpg` or with
 * `x.jpg` both unpack to `destDir/x.jpg`. `__MACOSX/` entries are skipped; unsafe paths are refused.
 * Returns the number of files written.
 */
export async function unzipTo(zipPath: string, destDir: string): Promise<number> {
  const names = await listEntries(zipPath);
  const strip = commonTopFolder(names);
  const zip = await yauzl
    .openPromise(zipPath, { lazyEntries: true, autoClose: true })
    .catch((error: Error) => {
      throw new LesionlabError(
        'E_DOWNLOAD',
        `${zipPath}: not a readable zip archive (${error.message}); delete it and fetch again`,
      );
    });
  let written = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      const name = entry.fileName.slice(strip.length);
      if (name === '' || name.endsWith('/') || skipped(entry.fileName)) continue;
      const target = join(destDir, name);
      await mkdir(dirname(target), { recursive: true });
      await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(target));
      written++;
    }
  } catch (error) {
    zip.close();
    throw new LesionlabError(
      'E_DOWNLOAD',
      `${zipPath}: unpacking failed after ${written} files (${(error as Error).message}); check free disk space, delete the archive and fetch again`,
    );
  }
  return written;
}

async function listEntries(zipPath: string): Promise<string[]> {
  const zip = await yauzl
    .openPromise(zipPath, { lazyEntries: true, autoClose: true })
    .catch((error: Error) => {
      throw new LesionlabError(
        'E_DOWNLOAD',
        `${zipPath}: not a readable zip archive (${error.message}); delete it and fetch again`,
      );
    });
  const names: string[] = [];
  try {
    for await (const entry of zip.eachEntry()) names.push(entry.fileName);
  } catch (error) {
    zip.close();
    throw new LesionlabError(
      'E_DOWNLOAD',
      `${zipPath}: unsafe or broken archive entry (${(error as Error).message}); refusing to unpack`,
    );
  }
  const unsafe = names.find((n) => n.startsWith('/') || n.split('/').includes('..'));
  if (unsafe !== undefined) {
    throw new LesionlabError(
      'E_DOWNLOAD',
      `${zipPath}: entry "${unsafe}" points outside the archive folder; refusing to unpack`,
    );
  }
  return names.filter((n) => !skipped(n));
}

function skipped(name: string): boolean {
  return name.startsWith('__MACOSX/') || name.split('/').pop()?.startsWith('._') === true;
}

/** `folder/` when every entry lies under that one top-level folder, else ''. */
function commonTopFolder(names: readonly string[]): string {
  const files = names.filter((n) => !n.endsWith('/'));
  if (files.length === 0) return '';
  const top = files[0].split('/')[0];
  return files.every((n) => n.includes('/') && n.split('/')[0] === top) ? `${top}/` : '';
}
