import type { ImageRecord } from '../../core/data/records.js';
import type { Logger, ProgressHook } from '../../core/logger.js';
import type { Classifier } from '../infer/classifier.js';
import { mapLimit } from '../infer/limit.js';
import { expandTta, ttaViewCount } from '../infer/tta.js';

/** Probabilities per record, plain and (when asked) averaged over flipped views, plus unreadable files. */
export interface RecordPredictions {
  /** Records that were classified, in input order. */
  readonly records: ImageRecord[];
  readonly plain: Float32Array[];
  /** Mean over the 4 flip views (identity, horizontal, vertical, both); null without TTA. */
  readonly tta: Float32Array[] | null;
  readonly failed: { readonly imageId: string; readonly error: string }[];
}

/** Options of {@link predictRecords}. */
export interface PredictRecordsOptions {
  readonly tta?: boolean;
  readonly batchSize?: number;
  readonly decodeConcurrency?: number;
  readonly logger?: Logger;
  readonly onProgress?: ProgressHook;
}

/**
 * Classifies records batch by batch with the bundle's own preprocessing (`classifier.decode`). With TTA,
 * each image runs once per flip view; the plain prediction is the identity view, so TTA costs 4 passes, not 5.
 */
export async function predictRecords(
  classifier: Classifier,
  records: readonly ImageRecord[],
  options: PredictRecordsOptions = {},
): Promise<RecordPredictions> {
  const { width: w, height: h } = classifier.meta.preprocess;
  const size = w * h * 3;
  const views = options.tta ? ttaViewCount('flips') : 1;
  const batchSize = options.batchSize ?? 32;
  const out: RecordPredictions = { records: [], plain: [], tta: options.tta ? [] : null, failed: [] };
  for (let start = 0; start < records.length; start += batchSize) {
    const chunk = records.slice(start, start + batchSize);
    const decoded = await mapLimit(chunk, options.decodeConcurrency ?? 2, async (record) => {
      try {
        return { record, pixels: await classifier.decode(record.path) };
      } catch (error) {
        out.failed.push({ imageId: record.imageId, error: (error as Error).message });
        return null;
      }
    });
    const ok = decoded.filter((d) => d !== null);
    const batch = new Uint8Array(ok.length * size);
    ok.forEach((d, i) => {
      batch.set(d.pixels, i * size);
    });
    const input = views > 1 ? expandTta(batch, ok.length, w, h, 'flips') : batch;
    const rows = await classifier.classifyPixels(input, ok.length * views);
    ok.forEach((d, i) => {
      out.records.push(d.record);
      out.plain.push(rows[i * views]);
      out.tta?.push(meanRows(rows.slice(i * views, (i + 1) * views)));
    });
    options.onProgress?.(Math.min(start + batchSize, records.length), records.length, 'images');
  }
  if (out.failed.length > 0)
    options.logger?.warn(`${out.failed.length} images could not be read and were left out`);
  return out;
}

function meanRows(rows: readonly Float32Array[]): Float32Array {
  const mean = new Float32Array(rows[0].length);
  for (const row of rows) for (let j = 0; j < row.length; j++) mean[j] += row[j] / rows.length;
  return mean;
}
