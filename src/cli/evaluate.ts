import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { FORMAT_NAMES, FormatNameSchema } from '../core/data/options.js';
import { evaluateModel } from '../node/evaluate/evaluate.js';
import type { EvaluationSplit } from '../node/evaluate/select.js';
import { consoleLogger } from './console-logger.js';
import { densityFlag, threadsFlag, ttaChoicesText, ttaFlag } from './flags/serving.js';
import {
  booleanFlag,
  choiceFlag,
  defineFlags,
  flagCommand,
  intFlag,
  positional,
  textFlag,
} from './flags/table.js';

/** The parts `evaluate` can score (checked against the evaluator's own type). */
const SPLITS = ['test', 'val', 'all'] as const satisfies readonly EvaluationSplit[];

const flags = defineFlags({
  target: positional('training run folder or model bundle folder'),
  data: textFlag({ description: "dataset root or CSV (default: the run's dataset)" }),
  format: textFlag({
    description: `${FORMAT_NAMES.slice(1).join(' | ')} (default: auto)`,
    schema: FormatNameSchema,
  }),
  split: choiceFlag(SPLITS, { description: `${SPLITS.join(' | ')} (default: test for a run, else all)` }),
  tta: ttaFlag(
    `views averaged per image: ${ttaChoicesText("default: the bundle's own, as training evaluated it")}`,
  ),
  density: densityFlag("apply the bundle's pixel-density rule (--no-density to skip)"),
  metadata: booleanFlag({
    description:
      "fuse each image's metadata through the bundle's metadata branch (--no-metadata: image only)",
  }),
  'tune-offsets': booleanFlag({ description: 'tune per-class logit offsets on the validation split' }),
  out: textFlag({ description: 'output folder (default: <run>/eval-<split>)' }),
  resamples: intFlag('bootstrap resamples (default 1000)', { min: 1 }),
  seed: textFlag({ description: 'bootstrap seed (default 0)', schema: z.coerce.number().int() }),
  limit: intFlag('evaluate only the first N images', { min: 1 }),
  screenshot: booleanFlag({
    description: 'save report.png with headless Chromium (--no-screenshot to skip)',
  }),
  threads: threadsFlag('ONNX Runtime threads'),
  'batch-size': intFlag('images per batch (default 32)', { min: 1 }),
});

/** `lesionlab evaluate <run-dir|bundle>`: metrics with CIs, predictions.csv and an HTML/Markdown report. */
export const evaluateCommand = flagCommand(flags, {
  meta: { name: 'evaluate', description: 'Evaluate a model on a labelled dataset and write a report' },
  async run(a) {
    const bar = process.stderr.isTTY ? new SingleBar({ stream: process.stderr }) : undefined;
    let started = false;
    const result = await evaluateModel({
      target: a.target,
      data: a.data,
      format: a.format,
      split: a.split,
      tta: a.tta ?? 'recipe',
      density: a.density,
      metadata: a.metadata,
      tuneOffsets: a['tune-offsets'] === true,
      out: a.out,
      bootstrap: { resamples: a.resamples, seed: a.seed },
      limit: a.limit,
      screenshot: a.screenshot,
      threads: a.threads,
      batchSize: a['batch-size'],
      logger: consoleLogger,
      onProgress: (done, total) => {
        if (!started) bar?.start(total, 0);
        started = true;
        bar?.update(done);
      },
    }).finally(() => bar?.stop());
    for (const v of result.variants) {
      const m = v.metrics;
      const ci = m.bootstrap
        ? ` (${(m.bootstrap.balancedAccuracy.lower * 100).toFixed(1)}-${(m.bootstrap.balancedAccuracy.upper * 100).toFixed(1)})`
        : '';
      consoleLogger.info(
        `${v.label.padEnd(20)} balanced accuracy ${(m.balancedAccuracy * 100).toFixed(1)}%${ci}  accuracy ${(m.accuracy * 100).toFixed(1)}%  macro AUC ${m.macroAuc.toFixed(3)}`,
      );
    }
    consoleLogger.info(`report: ${result.report.html}`);
    consoleLogger.info(`predictions: ${result.predictionsCsv}`);
  },
});
