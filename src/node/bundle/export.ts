import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { BundleMeta } from '../../core/bundle/meta.js';
import { expected } from '../../core/errors.js';
import { writeFailure } from '../fs-errors.js';
import { BUNDLE_META_FILE, readModelBundle } from './read.js';
import { loadLayersModelFromDir } from './tfjs-files.js';
import { swapInto, writeModelBundle } from './write.js';

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

/**
 * Exports the bundle of `source` (a bundle folder or a run folder) to `out` as a self-describing bundle
 * (model, class names, preprocessing, normalisation, metrics). With a TF.js model in the source the ONNX
 * graph is re-exported from it (adding the `cam` output when the head allows); otherwise the ONNX file is copied.
 */
export async function exportModelBundle(
  source: string,
  out: string,
  format: ExportFormat,
): Promise<BundleMeta> {
  const { meta, dir } = await readModelBundle(source);
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
