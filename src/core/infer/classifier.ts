// The classifying flow every shell shares (Node's `createClassifier`, the browser's `loadWebModel`): the bundle's
// preprocessing, its test-time views, one forward pass, view averaging, the metadata branch and the ranking.
// A shell passes in only what differs: its ONNX Runtime session and its image decoder.
import type { BundleMeta } from '../bundle/meta.js';
import { expected, shown } from '../errors.js';
import type { PreprocessSpec } from '../preprocess/spec.js';
import { averageViews, type DihedralView, expandViews } from '../preprocess/views.js';
import { hasMetadata, type LesionMetadata } from '../train/metadata.js';
import { fuseMetadata } from '../train/metadata-fusion.js';
import { at } from '../util/at.js';
import { type ClassScore, rankClasses } from './rank.js';

/** A class-activation output `[N, h, w, classes]`, flat. */
export interface ActivationMap {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** What one forward pass of a bundle's ONNX model returns. */
export interface ModelOutputs {
  /** Flat `[N, classes]` probabilities. */
  readonly probabilities: Float32Array;
  /** The class-activation output, when the shell asks for it and the bundle has one. */
  readonly cam?: ActivationMap;
}

/** A bundle's ONNX model opened by a shell (onnxruntime-node, onnxruntime-web): the platform half of a classifier. */
export interface ModelSession {
  /** Runs NHWC float32 pixels (0..255; normalisation is in the graph) of shape `dims`. */
  run(input: Float32Array, dims: readonly number[]): Promise<ModelOutputs>;
  dispose(): Promise<void>;
}

/** Turns an image source (a path, bytes, canvas pixels, ...) into NHWC uint8 RGB under `spec`. */
export type ImageDecoder<Source> = (source: Source, spec: PreprocessSpec) => Promise<Uint8Array>;

/** Per-image metadata (any field optional), one entry per image of a batch. */
export type BatchMetadata = readonly (LesionMetadata | undefined)[];

/** One batch scored: a probability row per image, whether each used metadata, the first view's CAM. */
export interface BatchScores {
  /** Views averaged, metadata fused where given and the bundle has a metadata branch. */
  readonly probabilities: Float32Array[];
  readonly metadataUsed: boolean[];
  /** The unflipped view's class-activation output `[count, h, w, classes]`, when the session gives one. */
  readonly cam?: ActivationMap;
}

/** What a shell shows for one image. */
export interface ImagePrediction {
  /** Probabilities in the bundle's class order. */
  readonly probabilities: Float32Array;
  /** All classes, most probable first. */
  readonly ranked: readonly ClassScore[];
  /** Class-activation output `[1, h, w, classes]`, when the bundle has one. */
  readonly cam?: ActivationMap;
  /** The exact views averaged. */
  readonly views: readonly DihedralView[];
  /** True when lesion metadata was given and the bundle's metadata branch used it. */
  readonly metadataUsed: boolean;
}

/** The shared classifier over a shell's session and decoder. */
export interface PixelClassifier<Source> {
  readonly meta: BundleMeta;
  /** The exact views averaged per image. */
  readonly views: readonly DihedralView[];
  /** The preprocessing `decode` runs: the bundle's, with its density rule on or off. */
  readonly preprocess: PreprocessSpec;
  /** True when the bundle's pixel-density rule is applied to inputs (recorded and not turned off). */
  readonly densityRule: boolean;
  /** Scores `count` NHWC uint8 RGB images at the bundle's preprocess size. */
  scorePixels(batch: Uint8Array, count: number, metadata?: BatchMetadata): Promise<BatchScores>;
  /** {@link scorePixels}' probability rows alone. */
  classifyPixels(batch: Uint8Array, count: number, metadata?: BatchMetadata): Promise<Float32Array[]>;
  /** Scores one image and ranks its classes. */
  classifyImage(pixels: Uint8Array, metadata?: LesionMetadata): Promise<ImagePrediction>;
  /** Decodes one source into the model's input with {@link preprocess}. */
  decode(source: Source): Promise<Uint8Array>;
  dispose(): Promise<void>;
}

/** Options of {@link createPixelClassifier}. */
export interface PixelClassifierOptions {
  /** Test-time views (default: the bundle's recipe, `testViews`; the image alone for older bundles). */
  readonly views?: readonly DihedralView[];
  /** Apply the bundle's pixel-density rule (default true). */
  readonly density?: boolean;
}

/** The bundle's preprocessing with its density rule kept (on) or turned off. */
export function inferencePreprocess(meta: BundleMeta, density = true): PreprocessSpec {
  const { density: rule, ...rest } = meta.preprocess;
  return rule && density
    ? { ...rest, density: rule }
    : rule
      ? { ...rest, density: { ...rule, enabled: false } }
      : rest;
}

function checkBatch(meta: BundleMeta, batch: Uint8Array, count: number): void {
  const size = count * meta.preprocess.width * meta.preprocess.height * 3;
  if (!Number.isInteger(count) || count < 0 || batch.length !== size) {
    throw expected({
      what: `${size} bytes (${count} x ${meta.preprocess.height} x ${meta.preprocess.width} x 3 uint8 RGB)`,
      where: `the ${shown(count)} image(s) of classifyPixels`,
      received: `${batch.length} bytes`,
      fix: 'resize each image to the bundle input size first',
      code: 'E_INPUT',
    });
  }
}

/** One dimension of a shape a model declares: a size, or a dynamic one (a name such as `N`, null, or -1). */
export type DeclaredDim = number | string | null;

/** An input or output as a runtime lists it (onnxruntime's `ValueMetadata`); a non-tensor has no shape. */
export interface DeclaredValue {
  readonly name: string;
  readonly isTensor: boolean;
  readonly shape?: readonly DeclaredDim[];
}

/** The declared shape of the value `name` in `values`, or undefined when it is absent, not a tensor or unknown. */
export function declaredShape(
  values: readonly DeclaredValue[],
  name: string | undefined,
): readonly DeclaredDim[] | undefined {
  const value = values.find((v) => v.name === name);
  return value?.isTensor && value.shape && value.shape.length > 0 ? value.shape : undefined;
}

/** The shapes a bundle's model declares for what the classifier feeds and reads; undefined: not declared. */
export interface DeclaredShapes {
  /** The image input, NHWC. */
  readonly input?: readonly DeclaredDim[];
  /** The probabilities output, `[N, classes]`. */
  readonly probabilities?: readonly DeclaredDim[];
  /** The class-activation output `[N, h, w, classes]` (checked only when bundle.json names one). */
  readonly cam?: readonly DeclaredDim[];
}

/** How to mend a bundle whose `bundle.json` and ONNX model disagree. */
const MISMATCH_FIX =
  'bundle.json and its ONNX model must come from the same model: use the bundle as training or `lesionlab export` wrote it, or correct bundle.json';

const fixed = (d: DeclaredDim | undefined): d is number => typeof d === 'number' && d > 0;
const shapeText = (dims: readonly DeclaredDim[]) =>
  `[${dims.map((d) => (fixed(d) ? d : (d ?? '?'))).join(', ')}]`;

/**
 * Checks the shapes a bundle's model declares (`where` names it) against its `bundle.json`: the input
 * `[N, preprocess.height, preprocess.width, 3]`, one probability per class, the CAM's last axis one per class.
 * Dynamic dimensions and shapes not declared are not checked; a mismatch is E_MODEL_BUNDLE naming both sides.
 */
export function checkDeclaredShapes(meta: BundleMeta, shapes: DeclaredShapes, where: string): void {
  const { width, height } = meta.preprocess;
  const classes = meta.classes.length;
  const fail = (what: string, dims: readonly DeclaredDim[]) =>
    expected({ what, where, received: shapeText(dims), fix: MISMATCH_FIX, code: 'E_MODEL_BUNDLE' });
  const { input, probabilities, cam } = shapes;
  const want = [height, width, 3];
  if (input && (input.length !== 4 || want.some((size, i) => fixed(input[i + 1]) && input[i + 1] !== size))) {
    throw fail(
      `an input ${shown(meta.onnx.input)} of [N, ${height}, ${width}, 3] (bundle.json preprocess is ${width}x${height} RGB)`,
      input,
    );
  }
  const perImage = probabilities?.slice(1);
  if (probabilities && perImage?.every(fixed) && perImage.reduce((a, b) => a * b, 1) !== classes) {
    throw fail(
      `an output ${shown(meta.onnx.probabilities)} of [N, ${classes}] (bundle.json lists ${classes} classes)`,
      probabilities,
    );
  }
  const camClasses = cam?.at(-1);
  if (cam && meta.onnx.cam !== undefined && fixed(camClasses) && camClasses !== classes) {
    throw fail(
      `an output ${shown(meta.onnx.cam)} of [N, h, w, ${classes}] (bundle.json lists ${classes} classes)`,
      cam,
    );
  }
}

/** Throws E_MODEL_BUNDLE unless a forward pass over `inputs` images gave one probability per class for each. */
function checkProbabilities(meta: BundleMeta, probabilities: Float32Array, inputs: number): void {
  const classes = meta.classes.length;
  if (probabilities.length === inputs * classes) return;
  throw expected({
    what: `${inputs * classes} probabilities (${inputs} input(s) x the ${classes} classes of bundle.json)`,
    where: `the output ${shown(meta.onnx.probabilities)} of model bundle ${shown(meta.name)}`,
    received: `${probabilities.length} (${Number((probabilities.length / inputs).toFixed(3))} per input)`,
    fix: MISMATCH_FIX,
    code: 'E_MODEL_BUNDLE',
  });
}

/** Each image's first (unflipped) view out of a CAM output laid out image-major over `views`. */
function firstViews(cam: ActivationMap, count: number, views: number): ActivationMap {
  const dims = [count, ...cam.dims.slice(1)];
  const plane = cam.data.length / (count * views);
  if (views === 1) return { data: cam.data, dims };
  if (count === 1) return { data: cam.data.subarray(0, plane), dims };
  const data = new Float32Array(count * plane);
  for (let i = 0; i < count; i++)
    data.set(cam.data.subarray(i * views * plane, (i * views + 1) * plane), i * plane);
  return { data, dims };
}

async function scoreBatch(
  session: ModelSession,
  meta: BundleMeta,
  views: readonly DihedralView[],
  batch: Uint8Array,
  count: number,
  metadata?: BatchMetadata,
): Promise<BatchScores> {
  checkBatch(meta, batch, count);
  if (count === 0) return { probabilities: [], metadataUsed: [] };
  const { width: w, height: h } = meta.preprocess;
  // the typed-array constructor converts uint8 to float32 about twice as fast as Float32Array.from
  const input = new Float32Array(expandViews(batch, count, w, h, views));
  const out = await session.run(input, [count * views.length, h, w, 3]);
  checkProbabilities(meta, out.probabilities, count * views.length);
  const rows = averageViews(out.probabilities, count, meta.classes.length, views.length);
  const branch = meta.metadata;
  return {
    probabilities: branch ? rows.map((row, i) => fuseMetadata(branch, row, metadata?.[i])) : rows,
    metadataUsed: rows.map((_, i) => branch !== undefined && hasMetadata(metadata?.[i])),
    ...(out.cam ? { cam: firstViews(out.cam, count, views.length) } : {}),
  };
}

/**
 * A classifier for the bundle `meta` over a shell's `session` and `decoder`; `dispose` closes the session.
 */
export function createPixelClassifier<Source>(
  meta: BundleMeta,
  session: ModelSession,
  decoder: ImageDecoder<Source>,
  options: PixelClassifierOptions = {},
): PixelClassifier<Source> {
  const views = options.views ?? meta.testViews ?? ['identity'];
  const preprocess = inferencePreprocess(meta, options.density ?? true);
  const scorePixels = (batch: Uint8Array, count: number, metadata?: BatchMetadata) =>
    scoreBatch(session, meta, views, batch, count, metadata);
  return {
    meta,
    views,
    preprocess,
    densityRule: preprocess.density?.enabled === true,
    scorePixels,
    classifyPixels: async (batch, count, metadata) =>
      (await scorePixels(batch, count, metadata)).probabilities,
    async classifyImage(pixels, metadata) {
      const scores = await scorePixels(pixels, 1, [metadata]);
      const probabilities = at(scores.probabilities, 0);
      return {
        probabilities,
        ranked: rankClasses(probabilities, meta.classes),
        ...(scores.cam ? { cam: scores.cam } : {}),
        views,
        metadataUsed: at(scores.metadataUsed, 0),
      };
    },
    decode: (source) => decoder(source, preprocess),
    dispose: () => session.dispose(),
  };
}
