import { expected } from '../errors.js';
import { at } from '../util/at.js';
import { holmAdjusted } from './holm.js';
import { clusteredMcNemarTest, type McNemarResult, mcnemarTest } from './mcnemar.js';
import { argmax, type ProbabilityRows } from './metrics.js';
import {
  type ReportBanner,
  SMALL_SAMPLE_MAX_IMAGES,
  SMOKE_TEST_MAX_IMAGES,
  smallClassesText,
} from './report-data.js';
import type { EvaluationMetrics } from './summary.js';

/** One evaluated model to compare: its metrics, per-image predictions and cost figures. */
export interface ComparedModel {
  readonly name: string;
  readonly backbone: string;
  /** `imagenet` or `random` initial weights (random-weight runs are smoke tests, not accuracy claims). */
  readonly weights?: string;
  readonly metrics: EvaluationMetrics;
  /** Image ids and labels/probabilities in the same order: used for McNemar on the shared images. */
  readonly imageIds: readonly string[];
  /** Group (lesion) id of each image (absent for evaluations written before predictions.csv carried it). */
  readonly groupIds?: readonly string[];
  readonly labels: readonly number[];
  readonly probabilities: ProbabilityRows;
  readonly parameters?: number | null;
  readonly gmacs?: number | null;
  readonly imagesPerSecond?: number | null;
  readonly trainSeconds?: number | null;
  /** Where the run / evaluation lives. */
  readonly source?: string;
  /** Images in the whole dataset the evaluated ones were drawn from (when recorded). */
  readonly datasetImages?: number;
}

/** McNemar's test of one pair of models on the images both were evaluated on. */
export interface PairwiseTest extends McNemarResult {
  readonly modelA: string;
  readonly modelB: string;
  readonly images: number;
  /** Lesions (split groups) those images show (null: a model's predictions carry no group ids). */
  readonly lesions: number | null;
  /** `pValue` adjusted for all the comparison's pairs (Holm–Bonferroni); equal to it when there is one pair. */
  readonly holmPValue: number;
}

/** A comparison report's data: one row per model plus the pairwise tests; charts and HTML come from it. */
export interface ComparisonData {
  readonly format: 'lesionlab-comparison-report';
  readonly version: 1;
  readonly title: string;
  readonly createdAt: string;
  readonly classes: readonly string[];
  readonly models: readonly Omit<ComparedModel, 'imageIds' | 'groupIds' | 'labels' | 'probabilities'>[];
  readonly pairwise: readonly PairwiseTest[];
  readonly notes: readonly string[];
}

/** Per-image correctness and lesion id (null: not recorded), keyed by image id. */
function correctness(m: ComparedModel): Map<string, { ok: boolean; lesion: string | null }> {
  return new Map(
    m.imageIds.map((id, i) => [
      id,
      { ok: argmax(at(m.probabilities, i)) === m.labels[i], lesion: m.groupIds?.[i] ?? null },
    ]),
  );
}

/**
 * McNemar tests for every pair of models, on the images both saw. When every shared image has a group (lesion)
 * id (from either model; where both have one they must agree) and some lesion has several of those images, the
 * test is clustered by lesion (a lesion's images are not independent: `clusteredMcNemarTest`); otherwise it is
 * the classic test on images (exact binomial below 25 discordant pairs), with `lesions` null when ids are
 * missing or disagree. Each p-value is also adjusted for the number of pairs (Holm–Bonferroni, `holmPValue`).
 */
export function pairwiseMcNemar(models: readonly ComparedModel[]): PairwiseTest[] {
  const scored = models.map((model) => ({ name: model.name, correct: correctness(model) }));
  const tests: Omit<PairwiseTest, 'holmPValue'>[] = [];
  scored.forEach((a, i) => {
    for (const b of scored.slice(i + 1)) {
      // Both models' correctness on each image both saw, in model A's order; the lesion either recorded, null
      // when neither did or they disagree (other grouping sources)
      const shared = [...a.correct].flatMap(([id, left]) => {
        const right = b.correct.get(id);
        if (right === undefined) return [];
        const agree = left.lesion === null || right.lesion === null || left.lesion === right.lesion;
        return [{ okA: left.ok, okB: right.ok, lesion: agree ? (left.lesion ?? right.lesion) : null }];
      });
      const result = pairTest(
        shared.map((s) => s.okA),
        shared.map((s) => s.okB),
        shared.map((s) => s.lesion),
      );
      tests.push({ modelA: a.name, modelB: b.name, ...result, images: shared.length });
    }
  });
  const holm = holmAdjusted(tests.map((t) => t.pValue));
  return tests.map((t, i) => ({ ...t, holmPValue: at(holm, i) }));
}

/** One pair's test: by lesion when every image has a lesion id and some lesion has several, else on images. */
function pairTest(
  okA: readonly boolean[],
  okB: readonly boolean[],
  ids: readonly (string | null)[],
): McNemarResult & { readonly lesions: number | null } {
  if (!ids.every((id): id is string => id !== null)) return { ...mcnemarTest(okA, okB), lesions: null };
  const lesions = new Set(ids).size;
  const result = lesions < ids.length ? clusteredMcNemarTest(okA, okB, ids) : mcnemarTest(okA, okB);
  return { ...result, lesions };
}

/** Builds the comparison data of several evaluated models; they must share one class list. */
export function buildComparison(
  models: readonly ComparedModel[],
  options: { title?: string; createdAt?: string; notes?: readonly string[] } = {},
): ComparisonData {
  if (models.length < 2) {
    throw expected({
      what: 'at least two models',
      where: 'the comparison',
      received: `${models.length} model(s)`,
      fix: 'compare at least two',
      code: 'E_INPUT',
    });
  }
  const reference = at(models, 0);
  const classes = reference.metrics.classes;
  for (const m of models) {
    if (m.metrics.classes.join(',') !== classes.join(',')) {
      throw expected({
        what: `the classes of ${reference.name} (${classes.join(', ')})`,
        where: `${m.name} in the comparison`,
        received: `the classes ${m.metrics.classes.join(', ')}`,
        fix: 'compare models of one label set',
        code: 'E_INPUT',
      });
    }
  }
  return {
    format: 'lesionlab-comparison-report',
    version: 1,
    title: options.title ?? `Comparison of ${models.map((m) => m.name).join(', ')}`,
    createdAt: options.createdAt ?? new Date().toISOString(),
    classes,
    models: models.map(({ imageIds: _i, groupIds: _g, labels: _l, probabilities: _p, ...rest }) => rest),
    pairwise: pairwiseMcNemar(models),
    notes: [...(options.notes ?? [])],
  };
}

/**
 * The warnings a comparison page shows at its top, like an evaluation report's: models with random,
 * unrecorded or truncated backbone weights (by their weights label), sample data, a small test set and
 * classes with fewer than 10 test images.
 */
export function comparisonBanners(data: ComparisonData): ReportBanner[] {
  const banners: ReportBanner[] = [];
  const named = (test: (label: string) => boolean) =>
    data.models.filter((m) => m.weights !== undefined && test(m.weights)).map((m) => m.name);
  const random = named((w) => w.startsWith('random'));
  if (random.length > 0)
    banners.push({
      kind: 'random-weights',
      text: `RANDOM WEIGHTS: ${random.join(', ')} ${random.length === 1 ? 'was' : 'were'} not initialised from ImageNet; their numbers test the pipeline, they say nothing about the architecture.`,
    });
  const unknown = named((w) => w === 'unknown');
  if (unknown.length > 0)
    banners.push({
      kind: 'unknown-weights',
      text: `Weights provenance not recorded for ${unknown.join(', ')}: their backbones may have random weights.`,
    });
  const cut = named((w) => w.includes('truncated at'));
  if (cut.length > 0)
    banners.push({
      kind: 'truncated',
      text: `TRUNCATED BACKBONE: ${cut.join(', ')} ${cut.length === 1 ? 'was' : 'were'} cut short because ImageNet weights were incomplete; not the full published networks.`,
    });
  return [...banners, ...sampleBanners(data)];
}

/** Smoke-test, small-sample and small-class banners of a comparison (from its first model). */
function sampleBanners(data: ComparisonData): ReportBanner[] {
  const first = at(data.models, 0);
  const total = Math.min(...data.models.map((m) => m.datasetImages ?? Number.POSITIVE_INFINITY));
  const count = first.metrics.count;
  const banners: ReportBanner[] = [];
  if (total < SMOKE_TEST_MAX_IMAGES)
    banners.push({
      kind: 'smoke-test',
      text: `SMOKE TEST on a ${total}-image sample (${count} test images): it shows the pipeline runs end to end; it ranks nothing.`,
    });
  else if (count < SMALL_SAMPLE_MAX_IMAGES)
    banners.push({
      kind: 'small-sample',
      text: `SMALL SAMPLE: only ${count} test images (fewer than ${SMALL_SAMPLE_MAX_IMAGES}); differences inside the intervals are noise.`,
    });
  const few = smallClassesText(first.metrics);
  if (few !== null) banners.push({ kind: 'small-classes', text: few });
  return banners;
}
