import { LesionlabError } from '../errors.js';
import { type McNemarResult, mcnemarTest } from './mcnemar.js';
import { argmax, type ProbabilityRows } from './metrics.js';
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
  readonly labels: readonly number[];
  readonly probabilities: ProbabilityRows;
  readonly parameters?: number | null;
  readonly gmacs?: number | null;
  readonly imagesPerSecond?: number | null;
  readonly trainSeconds?: number | null;
  /** Where the run / evaluation lives. */
  readonly source?: string;
}

/** McNemar's test of one pair of models on the images both were evaluated on. */
export interface PairwiseTest extends McNemarResult {
  readonly modelA: string;
  readonly modelB: string;
  readonly images: number;
}

/** A comparison report's data: one row per model plus the pairwise tests; charts and HTML come from it. */
export interface ComparisonData {
  readonly format: 'lesionlab-comparison-report';
  readonly version: 1;
  readonly title: string;
  readonly createdAt: string;
  readonly classes: readonly string[];
  readonly models: readonly Omit<ComparedModel, 'imageIds' | 'labels' | 'probabilities'>[];
  readonly pairwise: readonly PairwiseTest[];
  readonly notes: readonly string[];
}

/** Per-image correctness keyed by image id. */
function correctness(m: ComparedModel): Map<string, boolean> {
  return new Map(m.imageIds.map((id, i) => [id, argmax(m.probabilities[i]) === m.labels[i]]));
}

/** McNemar tests for every pair of models, on the images both saw (exact binomial below 25 discordant pairs). */
export function pairwiseMcNemar(models: readonly ComparedModel[]): PairwiseTest[] {
  const correct = models.map(correctness);
  const tests: PairwiseTest[] = [];
  for (let i = 0; i < models.length; i++) {
    for (let j = i + 1; j < models.length; j++) {
      const shared = [...correct[i].keys()].filter((id) => correct[j].has(id));
      const result = mcnemarTest(
        shared.map((id) => correct[i].get(id)!),
        shared.map((id) => correct[j].get(id)!),
      );
      tests.push({ modelA: models[i].name, modelB: models[j].name, images: shared.length, ...result });
    }
  }
  return tests;
}

/** Builds the comparison data of several evaluated models; they must share one class list. */
export function buildComparison(
  models: readonly ComparedModel[],
  options: { title?: string; createdAt?: string; notes?: readonly string[] } = {},
): ComparisonData {
  if (models.length < 2) {
    throw new LesionlabError('E_INPUT', `comparison: got ${models.length} model(s); compare at least two`);
  }
  const classes = models[0].metrics.classes;
  for (const m of models) {
    if (m.metrics.classes.join(',') !== classes.join(',')) {
      throw new LesionlabError(
        'E_INPUT',
        `comparison: ${m.name} has classes ${m.metrics.classes.join(', ')} but ${models[0].name} has ${classes.join(', ')}; compare models of one label set`,
      );
    }
  }
  return {
    format: 'lesionlab-comparison-report',
    version: 1,
    title: options.title ?? `Comparison of ${models.map((m) => m.name).join(', ')}`,
    createdAt: options.createdAt ?? new Date().toISOString(),
    classes,
    models: models.map(({ imageIds: _i, labels: _l, probabilities: _p, ...rest }) => rest),
    pairwise: pairwiseMcNemar(models),
    notes: [...(options.notes ?? [])],
  };
}
