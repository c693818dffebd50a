import { copyFile, mkdir, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { BundleMeta } from '../../core/bundle/meta.js';
import { expected } from '../../core/errors.js';
import { writeFailure, writingTo } from '../fs-errors.js';
import { swapInto } from '../write-atomic.js';
import { BUNDLE_META_FILE, isFile, readModelBundle } from './read.js';
import { loadLayersModelFromDir } from './tfjs-files.js';
import { writeModelBundle } from './write.js';

/** Formats of `lesionlab export`: `onnx` (model.onnx + bundle.json) or `tfjs` (also the TF.js layers model). */
export type ExportFormat = 'onnx' | 'tfjs';

/** Valid export formats. */
export const EXPORT_FORMATS: readonly ExportFormat[] = ['onnx', 'tfjs'];

async function copyOnnxOnly(meta: BundleMeta, srcDir: string, out: string): Promise<BundleMeta> {
  const { tfjs: _dropped, ...rest } = meta;
  const tmp = join(dirname(out), `${basename(out)}.tmp-${process.pid}-${Date.now()}`);
  try {
    await mkdir(tmp, { recursive: true });
    await copyFile(join(srcDir, meta.onnx.file), join(tmp, meta.onnx.file));
    await writeFile(join(tmp, BUNDLE_META_FILE), `${JSON.stringify(rest, null, 2)}\n`);
    await swapInto(tmp, out);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw await writeFailure(error, out);
  }
  return rest;
}

/** `path` with symbolic links resolved as far as it exists (the rest appended as is), so aliases compare equal. */
async function realish(path: string): Promise<string> {
  const full = resolve(path);
  const real = await realpath(full).catch(() => undefined);
  if (real !== undefined) return real;
  const up = dirname(full);
  return up === full ? full : join(await realish(up), basename(full));
}

/** True when `path` is `folder` or lies inside it. */
function within(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** How `out` overlaps the exported `source` (a run or bundle folder) and its bundle folder, if it does. */
function overlap(out: string, source: string, bundle: string, inPlace: boolean): string | undefined {
  if (inPlace && out === bundle && source === bundle) return undefined;
  if (out === source || out === bundle) return 'the exported folder itself';
  if (within(source, out) || within(bundle, out)) return 'a folder holding the exported one';
  if (within(out, bundle)) return 'a folder inside the exported bundle';
  return undefined;
}

/**
 * Refuses an `out` that {@link swapInto} would replace to the user's loss: the exported run or bundle itself, a
 * folder holding it (`--out .`, `--out runs`), a folder inside the bundle, a file, or a folder with anything but a
 * bundle in it. A new path, an empty folder or an earlier bundle (`bundle.json`) may be replaced; so may a bundle
 * folder exported onto itself when `inPlace` (the export keeps everything it had: re-exporting its ONNX graph).
 */
async function checkOut(source: string, bundleDir: string, out: string, inPlace: boolean): Promise<void> {
  const [outReal, sourceReal, bundleReal] = await Promise.all([
    realish(out),
    realish(source),
    realish(bundleDir),
  ]);
  const clash = overlap(outReal, sourceReal, bundleReal, inPlace);
  if (clash !== undefined) {
    throw expected({
      what: 'a folder apart from the exported model',
      where: `--out ${out}`,
      received: `${clash} (${source})`,
      fix: `export replaces its output folder as a whole, so choose a new one, e.g. --out ${join(dirname(resolve(source)), `${basename(resolve(source))}-bundle`)}`,
      code: 'E_CONFIG',
    });
  }
  const info = await stat(out).catch(() => undefined);
  if (info === undefined) return;
  const entries = info.isDirectory() ? await writingTo(out, () => readdir(out)) : undefined;
  if (entries !== undefined && (entries.length === 0 || (await isFile(join(out, BUNDLE_META_FILE))))) return;
  const listed = `${entries?.slice(0, 5).join(', ')}${(entries?.length ?? 0) > 5 ? ', …' : ''}`;
  throw expected({
    what: 'a new or empty folder, or an earlier model bundle',
    where: `--out ${out}`,
    received: entries ? `a folder that holds other files (${listed}) and no ${BUNDLE_META_FILE}` : 'a file',
    fix: 'export replaces its output folder as a whole, so choose a new or empty folder',
    code: 'E_CONFIG',
  });
}

/**
 * Exports the bundle of `source` (a bundle folder or a run folder) to `out` as a self-describing bundle
 * (model, class names, preprocessing, normalisation, metrics). With a TF.js model in the source the ONNX
 * graph is re-exported from it (adding the `cam` output when the head allows); otherwise the ONNX file is copied.
 * `out` is replaced only when it is new, empty or an earlier bundle, and never when it is, holds, or lies inside
 * what is exported (`E_CONFIG` otherwise, before anything is written), except a bundle folder re-exported onto
 * itself with nothing dropped (`--format tfjs`, or a bundle without a TF.js model).
 */
export async function exportModelBundle(
  source: string,
  out: string,
  format: ExportFormat,
): Promise<BundleMeta> {
  const { meta, dir } = await readModelBundle(source);
  // onto itself only when nothing is dropped: its TF.js model kept (tfjs), or it never had one
  await checkOut(source, dir, out, format === 'tfjs' || !meta.tfjs);
  if (!meta.tfjs) {
    if (format === 'tfjs') {
      throw expected({
        what: 'a bundle with a TF.js model (tfjs/)',
        where: '--format tfjs',
        received: `${dir}, which has none`,
        fix: 'export it as --format onnx',
        code: 'E_MODEL_BUNDLE',
      });
    }
    return copyOnnxOnly(meta, dir, out);
  }
  const model = await loadLayersModelFromDir(dirname(join(dir, meta.tfjs.file)));
  try {
    return await writeModelBundle(out, {
      model,
      name: meta.name,
      backbone: meta.backbone,
      classes: meta.classes,
      preprocess: meta.preprocess,
      normalization: meta.normalization,
      testViews: meta.testViews,
      posthocTau: meta.logitAdjustment?.tau,
      metadata: meta.metadata,
      metrics: meta.metrics,
      weights: meta.weights,
      cam: meta.onnx.cam !== undefined,
      tfjs: format === 'tfjs',
    });
  } finally {
    model.dispose();
  }
}
