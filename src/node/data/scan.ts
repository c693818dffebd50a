import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { toImageId } from '../../core/data/formats.js';
import type { DataIssue } from '../../core/data/records.js';
import { expected } from '../../core/errors.js';

/** One image file found under a root. */
export interface ImageFile {
  readonly imageId: string;
  readonly path: string;
  /** First path segment below the root ('' for files directly in it): the class of a folder-per-class layout. */
  readonly topDir: string;
}

const IMAGE_FILE = /\.(jpe?g|png)$/i;

/**
 * Lists every .jpg/.jpeg/.png under `root` (one async walk; hidden entries and `__MACOSX` skipped; symbolic
 * links to folders followed once each), sorted by path.
 */
export async function scanImageFiles(root: string): Promise<ImageFile[]> {
  const found: string[] = [];
  const visited = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    const real = await realpath(dir).catch(() => dir);
    if (visited.has(real)) return;
    visited.add(real);
    const entries = await readdir(dir, { withFileTypes: true }).catch((error: Error) => {
      throw expected({
        what: 'a readable folder',
        where: dir,
        received: `one that cannot be listed (${error.message})`,
        fix: 'check it exists and is readable',
        code: 'E_MISSING_FILE',
        cause: error,
      });
    });
    const subdirs: string[] = [];
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === '__MACOSX' || e.name === 'node_modules') continue;
      if (e.isDirectory() || (e.isSymbolicLink() && (await isDirLink(join(dir, e.name)))))
        subdirs.push(join(dir, e.name));
      else if ((e.isFile() || e.isSymbolicLink()) && IMAGE_FILE.test(e.name)) found.push(join(dir, e.name));
    }
    await Promise.all(subdirs.map(walk));
  };
  await walk(root);
  found.sort();
  return found.map((path) => {
    const [top = '', ...below] = relative(root, path).split(sep);
    return { imageId: toImageId(path), path, topDir: below.length > 0 ? top : '' };
  });
}

async function isDirLink(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isDirectory() === true;
}

/** One map image id → path (first by path wins) and a `duplicate-image-id` issue for each further file. */
export function indexImageFiles(files: readonly ImageFile[]): {
  byId: Map<string, string>;
  issues: DataIssue[];
} {
  const byId = new Map<string, string>();
  const issues: DataIssue[] = [];
  for (const f of files) {
    const first = byId.get(f.imageId);
    if (first === undefined) byId.set(f.imageId, f.path);
    else
      issues.push({
        kind: 'duplicate-image-id',
        subject: f.path,
        detail: `same image id as ${first}; using the first`,
      });
  }
  return { byId, issues };
}
