import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BUNDLE_WRITTEN_BY, type BundleMeta, checkBundleMeta } from '../../core/bundle/meta.js';
import { expected } from '../../core/errors.js';
import { parseJsonText } from '../../core/json-text.js';

/** The name of a bundle's metadata file. */
export const BUNDLE_META_FILE = 'bundle.json';

/** A model bundle found on disk: its validated metadata, its folder and its ONNX file. */
export interface ModelBundle {
  readonly meta: BundleMeta;
  readonly dir: string;
  readonly onnxPath: string;
}

/** True when `path` is a file (false when it is missing, a folder or unreadable). */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds the bundle folder for `path`: the folder itself when it holds `bundle.json`, or its `model/`
 * sub-folder (a training run directory).
 */
export async function resolveBundleDir(path: string): Promise<string> {
  const dir = resolve(path);
  if (await isFile(join(dir, BUNDLE_META_FILE))) return dir;
  if (await isFile(join(dir, 'model', BUNDLE_META_FILE))) return join(dir, 'model');
  throw expected({
    what: `${BUNDLE_META_FILE} in the folder or in its model/`,
    where: path,
    received: `no ${BUNDLE_META_FILE} here nor in ${join(path, 'model')}`,
    fix: "pass a model bundle folder (from `lesionlab export` or a run's model/) or a training run folder",
    code: 'E_MODEL_BUNDLE',
  });
}

/** Parses and validates the text of a `bundle.json`; `source` names the file in errors. */
export function parseBundleMeta(text: string, source: string): BundleMeta {
  const where = `the model bundle metadata ${source}`;
  const json = parseJsonText(text, { where, fix: BUNDLE_WRITTEN_BY, code: 'E_MODEL_BUNDLE' });
  return checkBundleMeta(json, where);
}

/**
 * Reads a model bundle (a bundle folder or a run folder with `model/`): validates `bundle.json` and
 * checks that its ONNX file exists.
 */
export async function readModelBundle(path: string): Promise<ModelBundle> {
  const dir = await resolveBundleDir(path);
  const metaPath = join(dir, BUNDLE_META_FILE);
  const meta = parseBundleMeta(await readFile(metaPath, 'utf8'), metaPath);
  const onnxPath = join(dir, meta.onnx.file);
  if (!(await isFile(onnxPath))) {
    throw expected({
      what: `the ONNX file "${meta.onnx.file}" it names`,
      where: metaPath,
      received: `nothing at ${onnxPath} (the file is missing)`,
      fix: 're-export the bundle',
      code: 'E_MODEL_BUNDLE',
    });
  }
  return { meta, dir, onnxPath };
}
