import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type BundleMeta, BundleMetaSchema } from '../../core/bundle/meta.js';
import { LesionlabError } from '../../core/errors.js';

/** The name of a bundle's metadata file. */
export const BUNDLE_META_FILE = 'bundle.json';

/** A model bundle found on disk: its validated metadata, its folder and its ONNX file. */
export interface ModelBundle {
  readonly meta: BundleMeta;
  readonly dir: string;
  readonly onnxPath: string;
}

async function isFile(path: string): Promise<boolean> {
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
  throw new LesionlabError(
    'E_MODEL_BUNDLE',
    `${path}: no ${BUNDLE_META_FILE} here nor in ${join(path, 'model')}; ` +
      "pass a model bundle folder (from `lesionlab export` or a run's model/) or a training run folder",
  );
}

/** Parses and validates the text of a `bundle.json`; `source` names the file in errors. */
export function parseBundleMeta(text: string, source: string): BundleMeta {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LesionlabError('E_MODEL_BUNDLE', `${source}: not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  const parsed = BundleMetaSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(root)';
    throw new LesionlabError(
      'E_MODEL_BUNDLE',
      `${source}: invalid model bundle metadata at "${where}": ${issue?.message}; ` +
        'was it written by lesionlab (format "lesionlab-model", version 1)?',
    );
  }
  return parsed.data;
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
    throw new LesionlabError(
      'E_MODEL_BUNDLE',
      `${metaPath}: names ONNX file "${meta.onnx.file}" but ${onnxPath} is missing; re-export the bundle`,
    );
  }
  return { meta, dir, onnxPath };
}
