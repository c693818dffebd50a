import {
  createPixelClassifier,
  type ModelSession,
  type PixelClassifier,
} from '../../core/infer/classifier.js';
import type { Logger } from '../../core/logger.js';
import type { LesionMetadata } from '../../core/train/metadata.js';
import { at } from '../../core/util/at.js';
import { readModelBundle } from '../bundle/read.js';
import { decodeImage } from '../preprocess/decode-image.js';
import { openClassifierSession } from './classifier-session.js';
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

type CoreClassifier = PixelClassifier<string | Uint8Array>;

/**
 * A loaded model bundle ready to classify images (files, buffers or pixels); one ONNX Runtime session reused
 * for every call. The core classifier's members, plus `classifyFiles`; `views`, `preprocess` and `densityRule`
 * are optional only so that test doubles written before them need not set them (`createClassifier` always does).
 */
export interface Classifier
  extends Pick<CoreClassifier, 'meta' | 'classifyPixels' | 'decode' | 'dispose'>,
    Partial<Pick<CoreClassifier, 'views' | 'preprocess' | 'densityRule'>> {
  /** Decodes (bundle's preprocessing) and classifies files; unreadable files get an `error`, never throw. */
  classifyFiles(
    paths: readonly string[],
    metadata?: readonly (LesionMetadata | undefined)[],
  ): Promise<FileClassification[]>;
}

/** Options of {@link createClassifier}. */
export interface ClassifierOptions {
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice). */
  readonly threads?: number;
  /** Test-time views: `recipe` (default) = the bundle's own `testViews`, or a named set (`none`, `flips`, ...). */
  readonly tta?: TtaChoice;
  /** Apply the bundle's pixel-density rule (default true; `false` = `--no-density`). */
  readonly density?: boolean;
  /**
   * Open the ONNX Runtime session on the first forward pass instead of now (default false): for a caller whose
   * forward passes usually run elsewhere (`serve --inference-workers`), so an unused session costs no memory.
   * A bundle whose model cannot load then fails that first call, not this one.
   */
  readonly lazySession?: boolean;
  /** Images decoded at once by `classifyFiles` (default 2). */
  readonly decodeConcurrency?: number;
  readonly logger?: Logger;
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
  const open = () => openClassifierSession(bundle, { threads: options.threads, logger: options.logger });
  const session = options.lazySession ? lazySession(open) : await open();
  const core = createPixelClassifier(meta, session, decodeImage, {
    views: resolveViews(options.tta ?? 'recipe', meta),
    density: options.density ?? true,
  });
  return {
    ...core,
    classifyFiles: (paths, metadata) => classifyFiles(core, paths, metadata, options.decodeConcurrency ?? 2),
  };
}

/** A session opened by `open` on its first run (once, even under concurrent first runs); disposed only if opened. */
function lazySession(open: () => Promise<ModelSession>): ModelSession {
  let opened: Promise<ModelSession> | undefined;
  return {
    async run(input, dims) {
      opened ??= open();
      return (await opened).run(input, dims);
    },
    async dispose() {
      if (opened) await (await opened.catch(() => undefined))?.dispose();
    },
  };
}

type Decoded = { path: string; pixels: Uint8Array } | { path: string; error: string };

/** Decodes `paths` (at most `concurrency` at once) and classifies the readable ones in one batch. */
async function classifyFiles(
  core: CoreClassifier,
  paths: readonly string[],
  metadata: readonly (LesionMetadata | undefined)[] | undefined,
  concurrency: number,
): Promise<FileClassification[]> {
  const decoded = await mapLimit(paths, concurrency, async (path): Promise<Decoded> => {
    try {
      return { path, pixels: await core.decode(path) };
    } catch (error) {
      return { path, error: (error as Error).message };
    }
  });
  const readable = decoded.flatMap((d, index) => ('pixels' in d ? [{ pixels: d.pixels, index }] : []));
  const size = core.meta.preprocess.width * core.meta.preprocess.height * 3;
  const batch = new Uint8Array(readable.length * size);
  readable.forEach((d, i) => {
    batch.set(d.pixels, i * size);
  });
  const scores = await core.scorePixels(
    batch,
    readable.length,
    readable.map((d) => metadata?.[d.index]),
  );
  let next = 0;
  return decoded.map((d) => {
    if ('error' in d) return d;
    const i = next++;
    return {
      path: d.path,
      probabilities: at(scores.probabilities, i),
      metadata: at(scores.metadataUsed, i),
    };
  });
}
