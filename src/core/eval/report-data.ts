import { describeWeights, type WeightsProvenance } from '../bundle/meta.js';
import { at } from '../util/at.js';
import { argmax, type ProbabilityRows } from './metrics.js';
import type { EvaluationMetrics } from './summary.js';

/** One set of metrics in a report: plain predictions, test-time augmentation, tuned thresholds... */
export interface ReportVariant {
  readonly id: string;
  readonly label: string;
  readonly metrics: EvaluationMetrics;
  /** How the variant was made, one line (e.g. "offsets tuned on the validation split only"). */
  readonly note?: string;
}

/** A wrong prediction made with high confidence, for the report's gallery. */
export interface ConfidentError {
  readonly imageId: string;
  readonly path: string;
  readonly label: string;
  readonly predicted: string;
  readonly confidence: number;
  /** Probability the model gave the true class. */
  readonly labelProbability: number;
}

/** One point of a training curve (long format for charting). */
export interface TrainingPoint {
  readonly epoch: number;
  readonly series: string;
  /** `loss` curves and `score` curves (accuracy-like, 0..1) are drawn in separate panels. */
  readonly panel: 'loss' | 'score';
  readonly value: number;
}

/** Everything an evaluation report shows, as JSON; charts and HTML are made from this alone. */
export interface ReportData {
  readonly format: 'lesionlab-evaluation-report';
  readonly version: 1;
  readonly title: string;
  readonly createdAt: string;
  readonly model: {
    readonly name: string;
    readonly backbone: string;
    readonly source: string;
    /** Where the backbone's weights came from (null: not recorded, a model saved before provenance). */
    readonly weights?: WeightsProvenance | null;
  };
  readonly data: {
    readonly source: string;
    readonly split: string;
    readonly images: number;
    readonly format?: string;
    /** Images in the whole dataset the evaluated ones were drawn from. */
    readonly datasetImages?: number;
  };
  /** The first variant is the headline one. */
  readonly variants: readonly ReportVariant[];
  readonly training: readonly TrainingPoint[] | null;
  readonly errors: readonly ConfidentError[];
  readonly notes: readonly string[];
}

/** Datasets smaller than this are smoke tests: their numbers are no performance estimate. */
export const SMOKE_TEST_MAX_IMAGES = 1000;

/** Evaluated sets smaller than this get a small-sample banner: their intervals are wide. */
export const SMALL_SAMPLE_MAX_IMAGES = 200;

/** Classes with fewer evaluated images than this are named in a banner: their per-class figures are noise. */
export const SMALL_CLASS_MIN_IMAGES = 10;

/** One warning shown above everything else in a report. */
export interface ReportBanner {
  readonly kind:
    | 'random-weights'
    | 'unknown-weights'
    | 'truncated'
    | 'smoke-test'
    | 'small-sample'
    | 'small-classes';
  readonly text: string;
}

/**
 * The warnings a report must show at its top: random or unrecorded backbone weights, a truncated
 * backbone, a dataset too small for its numbers to estimate anything, a small evaluated set, and the
 * classes with fewer than {@link SMALL_CLASS_MIN_IMAGES} images in it (from the headline variant).
 */
export function reportBanners(
  data: Pick<ReportData, 'model' | 'data'> & { readonly variants?: ReportData['variants'] },
): ReportBanner[] {
  const banners = weightsBanners(data);
  const total = data.data.datasetImages;
  if (total !== undefined && total < SMOKE_TEST_MAX_IMAGES)
    banners.push({
      kind: 'smoke-test',
      text: `SMOKE TEST on a ${total}-image sample (${data.data.images} images evaluated): it shows the pipeline runs end to end; it is not a performance estimate.`,
    });
  else if (data.data.images < SMALL_SAMPLE_MAX_IMAGES)
    banners.push({
      kind: 'small-sample',
      text: `SMALL SAMPLE: only ${data.data.images} images were evaluated (fewer than ${SMALL_SAMPLE_MAX_IMAGES}); read the intervals, not the point estimates.`,
    });
  const few = smallClassesText(data.variants?.[0]?.metrics);
  if (few !== null) banners.push({ kind: 'small-classes', text: few });
  return banners;
}

/** The small-classes banner text, or null when every class has enough images (or there are no metrics). */
export function smallClassesText(metrics: EvaluationMetrics | undefined): string | null {
  const few = (metrics?.perClass ?? []).filter((c) => c.support < SMALL_CLASS_MIN_IMAGES);
  if (few.length === 0) return null;
  const list = few.map((c) => `${c.name} ${c.support}`).join(', ');
  const none = few.some((c) => c.support === 0) ? ' A class with no images shows — instead of figures.' : '';
  return `FEW IMAGES IN ${few.length === 1 ? 'A CLASS' : `${few.length} CLASSES`}: ${list} (fewer than ${SMALL_CLASS_MIN_IMAGES} each); their per-class recall, precision, F1 and AUC are not reliable.${none}`;
}

/** Banners about the backbone's weights: random, unrecorded or truncated. */
function weightsBanners(data: Pick<ReportData, 'model'>): ReportBanner[] {
  const banners: ReportBanner[] = [];
  const w = data.model.weights;
  if (w?.kind === 'random')
    banners.push({
      kind: 'random-weights',
      text: `RANDOM WEIGHTS: the ${data.model.backbone} backbone was not initialised from ImageNet, its weights are ${describeWeights(w)}. These numbers test the pipeline; they say nothing about the architecture.`,
    });
  else if (!w)
    banners.push({
      kind: 'unknown-weights',
      text: 'Weights provenance not recorded (a model saved before lesionlab recorded it): the backbone may have random weights.',
    });
  else if (w.truncatedAt)
    banners.push({
      kind: 'truncated',
      text: `TRUNCATED BACKBONE: ImageNet weights were incomplete, so ${data.model.backbone} was cut after ${w.truncatedAt}; this is not the full published network.`,
    });
  return banners;
}

/** The `limit` wrong predictions with the highest predicted probability, most confident first. */
export function mostConfidentErrors(
  images: readonly { readonly imageId: string; readonly path: string }[],
  labels: readonly number[],
  probabilities: ProbabilityRows,
  classes: readonly string[],
  limit = 12,
): ConfidentError[] {
  const errors: ConfidentError[] = [];
  labels.forEach((label, i) => {
    const row = at(probabilities, i);
    const predicted = argmax(row);
    if (predicted === label) return;
    const { imageId, path } = at(images, i);
    errors.push({
      imageId,
      path,
      label: at(classes, label),
      predicted: at(classes, predicted),
      confidence: at(row, predicted),
      labelProbability: at(row, label),
    });
  });
  return errors
    .sort((a, b) => b.confidence - a.confidence || a.imageId.localeCompare(b.imageId))
    .slice(0, limit);
}

const SKIPPED_SERIES = new Set(['epoch', 'lr', 'seconds', 'time', 'learning_rate']);

/**
 * Training curves from a run's `metrics.json`: an array of per-epoch objects (or `{ history: [...] }` /
 * `{ epochs: [...] }`) with numeric fields such as `loss`, `val_loss`, `val_accuracy`. Series named
 * `*loss*` go to the loss panel, the rest (accuracy-like) to the score panel; lr and timing are left out.
 * Returns null when nothing usable is found.
 */
export function trainingCurvePoints(metricsJson: unknown): TrainingPoint[] | null {
  const rows = epochRows(metricsJson);
  const points: TrainingPoint[] = [];
  rows.forEach((row, index) => {
    const epoch = typeof row['epoch'] === 'number' ? row['epoch'] : index + 1;
    for (const [series, value] of Object.entries(row)) {
      if (SKIPPED_SERIES.has(series) || typeof value !== 'number' || !Number.isFinite(value)) continue;
      points.push({ epoch, series, panel: series.includes('loss') ? 'loss' : 'score', value });
    }
  });
  return points.length === 0 ? null : points;
}

function epochRows(json: unknown): Record<string, unknown>[] {
  const isRow = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (Array.isArray(json)) return json.filter(isRow);
  if (isRow(json)) {
    for (const key of ['history', 'epochs']) {
      const inner = json[key];
      if (Array.isArray(inner)) return inner.filter(isRow);
    }
  }
  return [];
}
