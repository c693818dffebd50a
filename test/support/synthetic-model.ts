import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComparedModel } from '../../src/core/eval/compare.js';
import { formatPredictionsCsv } from '../../src/core/eval/predictions.js';
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

/**
 * Writes `model` as an evaluation folder (`report.json` + `predictions.csv`) in `dir`; `spell` writes each
 * label's text (default: the class name).
 */
export async function writeEvaluationFolder(
  dir: string,
  model: ComparedModel,
  spell: (label: number) => string = (l) => classes[l] ?? '',
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const report = {
    model: { name: model.name, backbone: model.backbone, weights: null },
    data: {},
    variants: [{ metrics: model.metrics }],
  };
  await writeFile(join(dir, 'report.json'), JSON.stringify(report));
  const rows = model.probabilities.map((p) => Float32Array.from(p));
  const csv = formatPredictionsCsv(classes, model.imageIds, model.labels.map(spell), rows);
  await writeFile(join(dir, 'predictions.csv'), csv);
  return dir;
}
