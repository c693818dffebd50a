import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { expected } from '../../core/errors.js';

/**
 * Streams every file of a zip archive into `destDir` (entry by entry, nothing held in memory). When all
 * entries share one top-level folder, that folder is dropped, so `part_1.zip` with `part_1/x.jpg` or with
 * `x.jpg` both unpack to `destDir/x.jpg`. `__MACOSX/` entries are skipped; unsafe paths are refused.
 * Returns the number of files written.
 */
export async function unzipTo(zipPath: string, destDir: string): Promise<number> {
  const names = await listEntries(zipPath);
  const strip = commonTopFolder(names);
  const zip = await openZip(zipPath);
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
    throw expected({
      what: 'an archive that unpacks',
      where: zipPath,
      received: `a failure after ${written} files (${(error as Error).message})`,
      fix: 'check free disk space, delete the archive and fetch again',
      code: 'E_DOWNLOAD',
      cause: error,
    });
  }
  return written;
}

/** Opens a zip archive; one that does not open is `E_DOWNLOAD` (delete it and fetch again). */
function openZip(zipPath: string) {
  return yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: true }).catch((error: Error) => {
    throw expected({
      what: 'a readable zip archive',
      where: zipPath,
      received: `a file that does not open (${error.message})`,
      fix: 'delete it and fetch again',
      code: 'E_DOWNLOAD',
      cause: error,
    });
  });
}

async function listEntries(zipPath: string): Promise<string[]> {
  const zip = await openZip(zipPath);
  const names: string[] = [];
  try {
    for await (const entry of zip.eachEntry()) names.push(entry.fileName);
  } catch (error) {
    zip.close();
    throw expected({
      what: 'safe, readable archive entries',
      where: zipPath,
      received: `an unsafe or broken entry (${(error as Error).message})`,
      fix: 'refusing to unpack; delete it and fetch again',
      code: 'E_DOWNLOAD',
      cause: error,
    });
  }
  const unsafe = names.find((n) => n.startsWith('/') || n.split('/').includes('..'));
  if (unsafe !== undefined) {
    throw expected({
      what: 'entries inside the archive folder',
      where: zipPath,
      received: `the entry "${unsafe}", which points outside it`,
      fix: 'refusing to unpack; delete it and fetch again',
      code: 'E_DOWNLOAD',
    });
  }
  return names.filter((n) => !skipped(n));
}

function skipped(name: string): boolean {
  return name.startsWith('__MACOSX/') || name.split('/').pop()?.startsWith('._') === true;
}

/** `folder/` when every entry lies under that one top-level folder, else ''. */
function commonTopFolder(names: readonly string[]): string {
  const [first, ...rest] = names.filter((n) => !n.endsWith('/'));
  if (first === undefined) return '';
  const files = [first, ...rest];
  const [top = ''] = first.split('/');
  return files.every((n) => n.includes('/') && n.split('/')[0] === top) ? `${top}/` : '';
}
