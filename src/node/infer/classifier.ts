import type { BundleMeta } from '../../core/bundle/meta.js';
import { LesionlabError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { averageViews, type DihedralView, expandViews } from '../../core/preprocess/views.js';
import { fuseMetadata, hasMetadata, type LesionMetadata } from '../../core/train/metadata.js';
import { readModelBundle } from '../bundle/read.js';
import { type OnnxClassifierSession, openClassifierSession } from './classifier-session.js';
import { decodeForModel } from './decode.js';
import { mapLimit } from './limit.js';
import { resolveViews, type TtaChoice } from './tta.js';

/** The outcome of classifying one file: its probabilities, or why it could not be read. */
export type FileClassification =
  | {
      readonly path: string;
      readonly probabilities: Float32Array;
      /** True when lesion metadata was given and the bundle's metadata branch used it. */
      readonly metadata?: boolean;
    }
  | { readonly path: string; readonly error: string };

/** A loaded model bundle ready to classify images; one ONNX Runtime session reused for every call. */
export interface Classifier {
  readonly meta: BundleMeta;
  /**
   * The exact views averaged per image (the bundle's recipe unless overridden), for outputs to name
   * (optional only so that test doubles written before it need not set it; `createClassifier` always does).
   */
  readonly views?: readonly DihedralView[];
  /** The preprocessing `decode` runs: the bundle's, with its density rule on or off. */
  readonly preprocess?: PreprocessSpec;
  /** True when the bundle's pixel-density rule is applied to inputs (recorded and not turned off). */
  readonly densityRule?: boolean;
  /**
   * Probabilities for `count` images given as NHWC uint8 RGB at the bundle's preprocess size; with `metadata`
   * (one entry per image, any field optional) and a bundle that declares a metadata branch, it is fused in.
   */
  classifyPixels(
    batch: Uint8Array,
    count: number,
    metadata?: readonly (LesionMetadata | undefined)[],
  ): Promise<Float32Array[]>;
  /** Decodes (bundle's preprocessing) and classifies files; unreadable files get an `error`, never throw. */
  classifyFiles(
    paths: readonly string[],
    metadata?: readonly (LesionMetadata | undefined)[],
  ): Promise<FileClassification[]>;
  /** Decodes one file or buffer into the model's NHWC uint8 input (bundle's preprocessing). */
  decode(source: string | Uint8Array): Promise<Uint8Array>;
  dispose(): Promise<void>;
}

/** Options of {@link createClassifier}. */
export interface ClassifierOptions {
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice). */
  readonly threads?: number;
  /** Test-time views: `recipe` (default) = the bundle's own `testViews`, or a named set (`none`, `flips`, ...). */
  readonly tta?: TtaChoice;
  /** Apply the bundle's pixel-density rule (default true; `false` = `--no-density`). */
  readonly density?: boolean;
  /** Images decoded at once by `classifyFiles` (default 2). */
  readonly decodeConcurrency?: number;
  readonly logger?: Logger;
}

function checkBatch(meta: BundleMeta, batch: Uint8Array, count: number): void {
  const expected = count * meta.preprocess.width * meta.preprocess.height * 3;
  if (!Number.isInteger(count) || count < 0 || batch.length !== expected) {
    throw new LesionlabError(
      'E_INPUT',
      `classifyPixels: got ${batch.length} bytes for ${count} image(s), expected ${expected} ` +
        `(${count} x ${meta.preprocess.height} x ${meta.preprocess.width} x 3 uint8 RGB)`,
    );
  }
}

async function runPixels(
  session: OnnxClassifierSession,
  meta: BundleMeta,
  views: readonly DihedralView[],
  batch: Uint8Array,
  count: number,
) {
  const { width: w, height: h } = meta.preprocess;
  const expanded = expandViews(batch, count, w, h, views);
  const input = Float32Array.from(expanded);
  const probs = await session.probabilities(input, [count * views.length, h, w, 3]);
  return averageViews(probs, count, meta.classes.length, views.length);
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

/**
 * Loads the bundle at `bundleDir` (a bundle folder or a run folder with `model/`) and opens one ONNX
 * Runtime session for it.
 */
export async function createClassifier(
  bundleDir: string,
  options: ClassifierOptions = {},
): Promise<Classifier> {
  const bundle = await readModelBundle(bundleDir);
  const { meta } = bundle;
  const session = await openClassifierSession(bundle, { threads: options.threads, logger: options.logger });
  const views = resolveViews(options.tta ?? 'recipe', meta);
  const preprocess = inferencePreprocess(meta, options.density ?? true);
  const size = meta.preprocess.width * meta.preprocess.height * 3;
  const classifyPixels = async (
    batch: Uint8Array,
    count: number,
    metadata?: readonly (LesionMetadata | undefined)[],
  ): Promise<Float32Array[]> => {
    checkBatch(meta, batch, count);
    if (count === 0) return [];
    const rows = await runPixels(session, meta, views, batch, count);
    const branch = meta.metadata;
    return branch && metadata ? rows.map((row, i) => fuseMetadata(branch, row, metadata[i])) : rows;
  };
  const decode = (source: string | Uint8Array) => decodeForModel(source, preprocess);
  const classifyFiles = async (
    paths: readonly string[],
    metadata?: readonly (LesionMetadata | undefined)[],
  ): Promise<FileClassification[]> => {
    type Decoded = { path: string; pixels: Uint8Array } | { path: string; error: string };
    const decoded = await mapLimit(paths, options.decodeConcurrency ?? 2, async (path): Promise<Decoded> => {
      try {
        return { path, pixels: await decode(path) };
      } catch (error) {
        return { path, error: (error as Error).message };
      }
    });
    const metaOf = new Map(decoded.map((d, i) => [d, metadata?.[i]] as const));
    const ok = decoded.filter((d) => 'pixels' in d);
    const batch = new Uint8Array(ok.length * size);
    ok.forEach((d, i) => {
      batch.set(d.pixels, i * size);
    });
    const given = ok.map((d) => metaOf.get(d));
    const probs = await classifyPixels(batch, ok.length, given);
    const byPath = new Map(ok.map((d, i) => [d, probs[i]] as const));
    const used = (d: Decoded) => meta.metadata !== undefined && hasMetadata(metaOf.get(d));
    return decoded.map((d) =>
      'pixels' in d
        ? { path: d.path, probabilities: byPath.get(d)!, metadata: used(d) }
        : { path: d.path, error: d.error },
    );
  };
  return {
    meta,
    views,
    preprocess,
    densityRule: preprocess.density?.enabled === true,
    classifyPixels,
    classifyFiles,
    decode,
    dispose: () => session.dispose(),
  };
}
