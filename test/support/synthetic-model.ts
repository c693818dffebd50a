import type { ComparedModel } from '../../src/core/eval/compare.js';
import { computeEvaluationMetrics } from '../../src/core/eval/summary.js';

const classes = ['a', 'b', 'c'];

/** A synthetic evaluated model: right on the images where `right(i)` holds. */
export function syntheticModel(
  name: string,
  labels: number[],
  right: (i: number) => boolean,
  ids?: string[],
): ComparedModel {
  const probabilities = labels.map((l, i) =>
    classes.map((_, j) => (right(i) ? (j === l ? 0.8 : 0.1) : j === (l + 1) % 3 ? 0.8 : 0.1)),
  );
  const imageIds = ids ?? labels.map((_, i) => `img${i}`);
  return {
    name,
    backbone: `${name}-net`,
    metrics: computeEvaluationMetrics({
      classes,
      labels,
      probabilities,
      groups: imageIds,
      bootstrap: { resamples: 50 },
    }),
    imageIds,
    labels,
    probabilities,
    parameters: 1e6,
    gmacs: 0.5,
    imagesPerSecond: 100,
    trainSeconds: 60,
  };
}
