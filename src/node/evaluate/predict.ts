import type { ImageRecord } from '../../core/data/records.js';
import type { Logger, ProgressHook } from '../../core/logger.js';
import { type DihedralView, expandViews, viewsOfMode } from '../../core/preprocess/views.js';
import { hasMetadata, parseLesionMetadata } from '../../core/train/metadata.js';
import { fuseMetadata } from '../../core/train/metadata-fusion.js';
import { at } from '../../core/util/at.js';
import type { Classifier } from '../infer/classifier.js';
import { mapLimit } from '../infer/limit.js';

/** Probabilities per record, plain (the image only) and averaged over the asked views, plus unreadable files. */
export interface RecordPredictions {
  /** Records that were classified, in input order. */
  readonly records: ImageRecord[];
  readonly plain: Float32Array[];
  /** Mean over `views` (e.g. the bundle's recipe); null when only the image itself is run. */
  readonly tta: Float32Array[] | null;
  /** The exact views behind `tta` (`['identity']` when `tta` is null). */
  readonly views: readonly DihedralView[];
  readonly failed: { readonly imageId: string; readonly error: string }[];
  /** Images whose own metadata (age, sex, site) the bundle's metadata branch fused in; 0 without a branch. */
  metadataFused: number;
}

/** Options of {@link predictRecords}. */
export interface PredictRecordsOptions {
  /** Views averaged per image (the plain prediction is always the image itself; identity is run once). */
  readonly views?: readonly DihedralView[];
  /** Legacy: `true` = the four flips (as `views: viewsOfMode('flips')`). */
  readonly tta?: boolean;
  readonly batchSize?: number;
  readonly decodeConcurrency?: number;
  readonly logger?: Logger;
  readonly onProgress?: ProgressHook;
  /** Fuse each record's metadata through the bundle's metadata branch, as `predict` and `serve` do (default true). */
  readonly metadata?: boolean;
}

/**
 * Classifies records batch by batch with the bundle's own preprocessing (`classifier.decode`; the classifier
 * must run one view per image, `tta: 'none'`). With several views each image runs once per view plus the
 * identity when the views lack it; the plain prediction is the identity view. A bundle with a metadata branch
 * fuses each record's metadata into both, after the views are averaged (the order `serve` and `predict` use).
 */
export async function predictRecords(
  classifier: Classifier,
  records: readonly ImageRecord[],
  options: PredictRecordsOptions = {},
): Promise<RecordPredictions> {
  const { width: w, height: h } = classifier.meta.preprocess;
  const size = w * h * 3;
  const asked = options.views ?? (options.tta ? viewsOfMode('flips') : ['identity' as const]);
  const multi = asked.length > 1 || asked[0] !== 'identity';
  const run: readonly DihedralView[] = asked.includes('identity') ? asked : ['identity', ...asked];
  const identityAt = run.indexOf('identity');
  const skipIdentity = !asked.includes('identity');
  const views = multi ? run.length : 1;
  const batchSize = options.batchSize ?? 32;
  const out: RecordPredictions = {
    records: [],
    plain: [],
    tta: multi ? [] : null,
    views: asked,
    failed: [],
    metadataFused: 0,
  };
  const branch = options.metadata === false ? undefined : classifier.meta.metadata;
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
    const input = views > 1 ? expandViews(batch, ok.length, w, h, run) : batch;
    const rows = await classifier.classifyPixels(input, ok.length * views);
    ok.forEach((d, i) => {
      const mine = rows.slice(i * views, (i + 1) * views);
      const m = branch ? parseLesionMetadata(d.record.meta) : undefined;
      const fuse = (row: Float32Array) => (branch ? fuseMetadata(branch, row, m) : row);
      if (branch && hasMetadata(m)) out.metadataFused++;
      out.records.push(d.record);
      out.plain.push(fuse(at(mine, identityAt)));
      out.tta?.push(fuse(meanRows(skipIdentity ? mine.filter((_, v) => v !== identityAt) : mine)));
    });
    options.onProgress?.(Math.min(start + batchSize, records.length), records.length, 'images');
  }
  if (out.failed.length > 0)
    options.logger?.warn(`${out.failed.length} images could not be read and were left out`);
  return out;
}

function meanRows(rows: readonly Float32Array[]): Float32Array {
  const mean = new Float32Array(at(rows, 0).length);
  // Per-class loop: the rows are one classifier's, all as long as the first.
  for (const row of rows) for (let j = 0; j < row.length; j++) mean[j] = mean[j]! + row[j]! / rows.length;
  return mean;
}
