import type { ProgressHook } from '../../core/logger.js';
import type { LesionMetadata } from '../../core/train/metadata.js';
import type { Classifier, FileClassification } from './classifier.js';

/** Options of {@link predictFiles}. */
export interface PredictFilesOptions {
  /** Files decoded and run per batch: bounds memory over large folders (default 16). */
  readonly batchSize?: number;
  readonly onProgress?: ProgressHook;
  /** Lesion metadata per path (same order as `paths`), used when the bundle has a metadata branch. */
  readonly metadata?: readonly LesionMetadata[];
}

/**
 * Classifies `paths` batch by batch, yielding each file's result in input order as soon as its batch is
 * done; memory stays bounded by one batch whatever the number of files.
 */
export async function* predictFiles(
  classifier: Classifier,
  paths: readonly string[],
  options: PredictFilesOptions = {},
): AsyncGenerator<FileClassification> {
  const size = Math.max(1, options.batchSize ?? 16);
  for (let start = 0; start < paths.length; start += size) {
    const results = await classifier.classifyFiles(
      paths.slice(start, start + size),
      options.metadata?.slice(start, start + size),
    );
    options.onProgress?.(Math.min(start + size, paths.length), paths.length, 'images');
    yield* results;
  }
}
