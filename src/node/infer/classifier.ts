import type { BundleMeta } from '../../core/bundle/meta.js';
import { LesionlabError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { readModelBundle } from '../bundle/read.js';
import { decodeForModel } from './decode.js';
import { type InferenceEngine, openEngine } from './engine.js';
import { mapLimit } from './limit.js';
import { averageTta, expandTta, type TtaMode, ttaViewCount } from './tta.js';

/** The outcome of classifying one file: its probabilities, or why it could not be read. */
export type FileClassification =
  | { readonly path: string; readonly probabilities: Float32Array }
  | { readonly path: string; readonly error: string };

/** A loaded model bundle ready to classify images; one ONNX Runtime session reused for every call. */
export interface Classifier {
  readonly meta: BundleMeta;
  /** Probabilities for `count` images given as NHWC uint8 RGB at the bundle's preprocess size. */
  classifyPixels(batch: Uint8Array, count: number): Promise<Float32Array[]>;
  /** Decodes (bundle's preprocessing) and classifies files; unreadable files get an `error`, never throw. */
  classifyFiles(paths: readonly string[]): Promise<FileClassification[]>;
  /** Decodes one file or buffer into the model's NHWC uint8 input (bundle's preprocessing). */
  decode(source: string | Uint8Array): Promise<Uint8Array>;
  dispose(): Promise<void>;
}

/** Options of {@link createClassifier}. */
export interface ClassifierOptions {
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice). */
  readonly threads?: number;
  /** Test-time augmentation (default `none`). */
  readonly tta?: TtaMode;
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
  engine: InferenceEngine,
  meta: BundleMeta,
  tta: TtaMode,
  batch: Uint8Array,
  count: number,
) {
  const { width: w, height: h } = meta.preprocess;
  const views = ttaViewCount(tta);
  const expanded = expandTta(batch, count, w, h, tta);
  const input = Float32Array.from(expanded);
  const probs = await engine.probabilities(input, [count * views, h, w, 3]);
  return averageTta(probs, count, meta.classes.length, views);
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
  const engine = await openEngine(bundle, { threads: options.threads, logger: options.logger });
  const tta = options.tta ?? 'none';
  const size = meta.preprocess.width * meta.preprocess.height * 3;
  const classifyPixels = async (batch: Uint8Array, count: number): Promise<Float32Array[]> => {
    checkBatch(meta, batch, count);
    if (count === 0) return [];
    return runPixels(engine, meta, tta, batch, count);
  };
  const decode = (source: string | Uint8Array) => decodeForModel(source, meta.preprocess);
  const classifyFiles = async (paths: readonly string[]): Promise<FileClassification[]> => {
    type Decoded = { path: string; pixels: Uint8Array } | { path: string; error: string };
    const decoded = await mapLimit(paths, options.decodeConcurrency ?? 2, async (path): Promise<Decoded> => {
      try {
        return { path, pixels: await decode(path) };
      } catch (error) {
        return { path, error: (error as Error).message };
      }
    });
    const ok = decoded.filter((d) => 'pixels' in d);
    const batch = new Uint8Array(ok.length * size);
    ok.forEach((d, i) => {
      batch.set(d.pixels, i * size);
    });
    const probs = await classifyPixels(batch, ok.length);
    const byPath = new Map(ok.map((d, i) => [d, probs[i]] as const));
    return decoded.map((d) =>
      'pixels' in d ? { path: d.path, probabilities: byPath.get(d)! } : { path: d.path, error: d.error },
    );
  };
  return { meta, classifyPixels, classifyFiles, decode, dispose: () => engine.dispose() };
}
