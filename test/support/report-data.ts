import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRng } from '../../src/core/eval/bootstrap.js';
import { mostConfidentErrors, type ReportData } from '../../src/core/eval/report-data.js';
import { computeEvaluationMetrics } from '../../src/core/eval/summary.js';
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import { at } from '../../src/core/util/at.js';

export const SAMPLE_ROOT = join(import.meta.dirname, '../../data/sample/ham10000');

/** The embedded sample's images with labels and lesion ids (parsed minimally; H1's loader is tested elsewhere). */
export async function sampleImages(): Promise<
  { imageId: string; path: string; label: number; group: string }[]
> {
  const csv = await readFile(join(SAMPLE_ROOT, 'HAM10000_metadata.csv'), 'utf8');
  const rows = csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','));
  const part = (n: number) => join(SAMPLE_ROOT, `HAM10000_images_part_${n}`);
  const inPart1 = new Set(await readdir(part(1)));
  return rows.map((cells) => {
    const [lesion, imageId, dx] = [at(cells, 0), at(cells, 1), at(cells, 2)];
    return {
      imageId,
      path: join(part(inPart1.has(`${imageId}.jpg`) ? 1 : 2), `${imageId}.jpg`),
      label: (HAM10000_CLASSES as readonly string[]).indexOf(dx),
      group: lesion,
    };
  });
}

/** Fake but plausible probabilities: the true class boosted by a seeded random amount. */
export function fakeProbabilities(labels: readonly number[], seed: number, skill = 2.5): number[][] {
  const rng = createRng(seed);
  return labels.map((label) => {
    const logits = HAM10000_CLASSES.map(
      (_, j) => rng() * 2 + (j === label ? skill * rng() * 2 : 0) + (j === 5 ? 0.8 : 0),
    );
    const exp = logits.map((l) => Math.exp(l));
    const sum = exp.reduce((a, b) => a + b, 0);
    return exp.map((e) => e / sum);
  });
}

/** A complete report data object on the sample images with fake predictions and fake training curves. */
export async function syntheticReportData(): Promise<ReportData> {
  const images = await sampleImages();
  const labels = images.map((i) => i.label);
  const classes = [...HAM10000_CLASSES];
  const plain = fakeProbabilities(labels, 1);
  const tta = fakeProbabilities(labels, 2, 2.8);
  const groups = images.map((i) => i.group);
  const metrics = (p: number[][]) =>
    computeEvaluationMetrics({
      classes,
      labels,
      probabilities: p,
      groups,
      bootstrap: { resamples: 200, seed: 3 },
    });
  const training = Array.from({ length: 8 }, (_, e) => [
    { epoch: e + 1, series: 'loss', panel: 'loss' as const, value: 1.6 * Math.exp(-e / 4) + 0.3 },
    { epoch: e + 1, series: 'val_loss', panel: 'loss' as const, value: 1.5 * Math.exp(-e / 5) + 0.45 },
    {
      epoch: e + 1,
      series: 'val_accuracy',
      panel: 'score' as const,
      value: 0.5 + 0.3 * (1 - Math.exp(-e / 3)),
    },
    {
      epoch: e + 1,
      series: 'val_balanced_accuracy',
      panel: 'score' as const,
      value: 0.3 + 0.35 * (1 - Math.exp(-e / 3)),
    },
  ]).flat();
  return {
    format: 'lesionlab-evaluation-report',
    version: 1,
    title: 'Evaluation of synthetic-model on the HAM10000 sample',
    createdAt: '2026-01-01T00:00:00.000Z',
    model: { name: 'synthetic-model', backbone: 'mobilenet_v1', source: 'runs/synthetic' },
    data: { source: 'data/sample/ham10000', split: 'all', images: images.length, format: 'ham10000' },
    variants: [
      { id: 'plain', label: 'Plain', metrics: metrics(plain) },
      { id: 'tta', label: 'TTA (flips)', metrics: metrics(tta), note: 'mean of 4 flipped views' },
    ],
    training,
    errors: mostConfidentErrors(images, labels, plain, classes, 12),
    notes: ['Synthetic predictions for testing the report layout.'],
  };
}
