import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { type BundleMeta, BundleMetaSchema, type WeightsProvenance } from '../../core/bundle/meta.js';
import { expected } from '../../core/errors.js';
import { exportOnnx } from '../../core/onnx/export.js';
import type { Normalization, PreprocessSpec } from '../../core/preprocess/spec.js';
import type { DihedralView } from '../../core/preprocess/views.js';
import { writeFailure } from '../fs-errors.js';
import { swapInto } from '../write-atomic.js';
import { BUNDLE_META_FILE } from './read.js';
import { saveLayersModelToDir } from './tfjs-files.js';

/** What {@link writeModelBundle} needs: the trained model and the facts that travel with it. */
export interface WriteModelBundleArgs {
  /** Input NHWC float32 RGB 0..255 (normalisation inside), output softmax over `classes`. */
  readonly model: tf.LayersModel;
  readonly name: string;
  readonly backbone: string;
  readonly classes: readonly string[];
  /** Preprocessing, with the training images' pixel-density rule when known (`preprocess.density`). */
  readonly preprocess: PreprocessSpec;
  readonly normalization: Normalization;
  /** Exact views the recipe averages at test time (default: the image only). */
  readonly testViews?: readonly DihedralView[];
  /** Post-hoc logit adjustment τ already folded into the model's last bias (recorded, not applied again). */
  readonly posthocTau?: number;
  /** The lesion-metadata branch (late fusion offsets), when the model has one. */
  readonly metadata?: BundleMeta['metadata'];
  readonly metrics?: Record<string, unknown>;
  /** Where the backbone's weights came from (ImageNet file + sha256, or random seed). */
  readonly weights?: WeightsProvenance;
  /**
   * Emit the class-activation output `cam` [N, h, w, classes] (default true; needs a
   * GlobalAveragePooling2D -> (Dropout) -> Dense head). The exporter finds the feature map itself;
   * `camLayer` is accepted for the record only.
   */
  readonly cam?: boolean;
  readonly camLayer?: string;
  /** Also save the TF.js layers model under `tfjs/` (default true). */
  readonly tfjs?: boolean;
}

const ONNX_FILE = 'model.onnx';

const shapeText = (shape: readonly (number | null)[]) => `[${shape.map((d) => d ?? 'N').join(', ')}]`;

/**
 * Refuses a model that disagrees with the bundle.json it would travel with: output units other than one per class,
 * or an input size other than the preprocess size (dimensions the model leaves open are not checked).
 */
function checkModelFits(args: WriteModelBundleArgs, dir: string): void {
  const where = `the model written to ${dir}`;
  const out = args.model.outputs[0]?.shape.slice(1);
  const units = out?.every((d): d is number => typeof d === 'number')
    ? out.reduce((a, b) => a * b, 1)
    : undefined;
  if (units !== undefined && units !== args.classes.length) {
    throw expected({
      what: `${args.classes.length} output units, one per class (${args.classes.join(', ')})`,
      where,
      received: `${units} (output ${shapeText(args.model.outputs[0]?.shape ?? [])})`,
      fix: 'pass the classes the model was built for, in its output order',
      code: 'E_MODEL_BUNDLE',
    });
  }
  const input = args.model.inputs[0]?.shape;
  const { width, height } = args.preprocess;
  const want = [height, width, 3];
  if (
    input?.length === 4 &&
    want.some((size, i) => typeof input[i + 1] === 'number' && input[i + 1] !== size)
  ) {
    throw expected({
      what: `an input of [N, ${height}, ${width}, 3] (preprocess ${width}x${height} RGB)`,
      where,
      received: shapeText(input),
      fix: "set preprocess width and height to the model's input size",
      code: 'E_MODEL_BUNDLE',
    });
  }
}

function buildMeta(args: WriteModelBundleArgs, cam: boolean, tfjs: boolean): BundleMeta {
  return BundleMetaSchema.parse({
    format: 'lesionlab-model',
    version: 1,
    name: args.name,
    backbone: args.backbone,
    classes: [...args.classes],
    preprocess: { ...args.preprocess },
    ...(args.testViews ? { testViews: [...args.testViews] } : {}),
    ...(args.posthocTau !== undefined ? { logitAdjustment: { tau: args.posthocTau, inGraph: true } } : {}),
    ...(args.metadata ? { metadata: args.metadata } : {}),
    normalization: { mean: [...args.normalization.mean], std: [...args.normalization.std] },
    onnx: { file: ONNX_FILE, input: 'input', probabilities: 'probabilities', ...(cam ? { cam: 'cam' } : {}) },
    ...(tfjs ? { tfjs: { file: 'tfjs/model.json' } } : {}),
    ...(args.metrics ? { metrics: args.metrics } : {}),
    ...(args.weights ? { weights: args.weights } : {}),
    createdAt: new Date().toISOString(),
  });
}

/**
 * Writes a self-describing model bundle to `dir`: `model.onnx` (input `input` NHWC float32 0..255,
 * output `probabilities`, optional `cam`), `tfjs/` (TF.js layers format) and `bundle.json`. Built in
 * `<dir>.tmp-*` and renamed into place, so readers never see a half-written bundle. A model whose output units
 * or input size disagree with `classes` and `preprocess` is refused (E_MODEL_BUNDLE) before anything is written.
 */
export async function writeModelBundle(dir: string, args: WriteModelBundleArgs): Promise<BundleMeta> {
  const cam = args.cam ?? true;
  const tfjs = args.tfjs ?? true;
  const meta = buildMeta(args, cam, tfjs);
  checkModelFits(args, dir);
  const onnx = exportOnnx(args.model, {
    inputName: meta.onnx.input,
    outputNames: [meta.onnx.probabilities],
    ...(cam ? { cam: { name: 'cam' } } : {}),
    metadata: { classes: JSON.stringify(meta.classes), lesionlab: BUNDLE_META_FILE },
  });
  const tmp = join(dirname(dir), `${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  try {
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, ONNX_FILE), onnx.bytes);
    if (tfjs) {
      await mkdir(join(tmp, 'tfjs'));
      await saveLayersModelToDir(args.model, join(tmp, 'tfjs'));
    }
    await writeFile(join(tmp, BUNDLE_META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
    await swapInto(tmp, dir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw await writeFailure(error, dir);
  }
  return meta;
}
