import type { z } from 'zod';
import { configKeySchema, type TrainConfig } from '../core/config/train-config.js';
import { FormatNameSchema } from '../core/data/options.js';
import { BACKBONE_NAMES, getBackbone } from '../core/models/registry.js';
import { compareBackbones, compareEvaluations } from '../node/compare/compare.js';
import { compareConfigs } from './compare-configs.js';
import { consoleLogger } from './console-logger.js';
import { defineFlags, flagCommand, intFlag, textFlag } from './flags/table.js';
import { choicesText } from './flags/train.js';

/** The backbone-weights choices, as the training config has them. */
const weights = configKeySchema('model.weights') as z.ZodEnum<{ [K in TrainConfig['model']['weights']]: K }>;

const flags = defineFlags({
  backbones: textFlag({ description: `comma-separated backbones to train: ${BACKBONE_NAMES.join(', ')}` }),
  configs: textFlag({
    description:
      'comma-separated training configs (e.g. configs/seed-densenet121.json,configs/best-mobilenet-v1.json) to train on one split and compare',
  }),
  evaluations: textFlag({
    description: 'comma-separated evaluation folders (e.g. runs/a/eval-test) to compare instead',
  }),
  data: textFlag({ description: 'dataset root (default: the embedded sample)' }),
  format: textFlag({ description: 'dataset format (default: auto)', schema: FormatNameSchema }),
  subset: intFlag('use about N images (whole lesions, stratified)', { min: 1 }),
  epochs: intFlag('maximum epochs per backbone', { min: 1 }),
  weights: textFlag({
    description: `${choicesText(weights, { auto: 'ImageNet where available, else random, recorded', imagenet: 'required' })}; default auto`,
    schema: weights,
  }),
  seed: intFlag('seed of the split and training', { min: 0 }),
  resamples: intFlag('bootstrap resamples (default 1000)', { min: 1 }),
  out: textFlag({ description: 'output folder', default: 'runs/compare' }),
});

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `lesionlab compare`: train backbones on one split with one recipe (or load evaluated runs) and compare them. */
export const compareCommand = flagCommand(flags, {
  meta: {
    name: 'compare',
    description: 'Train and compare several backbones on one split, or compare evaluated runs',
  },
  async run({ subset, epochs, seed, weights, resamples, ...a }) {
    const n = { subset, epochs, seed, weights, resamples };
    const evaluations = list(a.evaluations);
    for (const name of list(a.backbones)) getBackbone(name); // a typo fails here, listing valid names
    const configs = list(a.configs);
    const result =
      evaluations.length > 0 || configs.length > 0
        ? await (configs.length > 0
            ? compareConfigs(configs, { ...n, data: a.data, out: a.out, logger: consoleLogger })
            : compareEvaluations(evaluations, a.out))
        : await compareBackbones({
            backbones: list(a.backbones),
            data: a.data,
            format: a.format,
            subset,
            epochs,
            seed,
            weights: n.weights,
            bootstrap: { resamples },
            out: a.out,
            logger: consoleLogger,
          });
    for (const m of result.data.models) {
      const ci = m.metrics.bootstrap?.balancedAccuracy;
      consoleLogger.info(
        `${m.name.padEnd(22)} weights ${m.weights ?? 'unknown'}; balanced accuracy ${(m.metrics.balancedAccuracy * 100).toFixed(1)}%${ci ? ` (${(ci.lower * 100).toFixed(1)}-${(ci.upper * 100).toFixed(1)})` : ''}`,
      );
    }
    for (const t of result.data.pairwise)
      consoleLogger.info(
        `McNemar ${t.modelA} vs ${t.modelB}: p = ${t.pValue.toPrecision(3)} (${t.method})${result.data.pairwise.length > 1 ? `, Holm-adjusted ${t.holmPValue.toPrecision(3)}` : ''}`,
      );
    consoleLogger.info(`report: ${result.report.html}`);
  },
});
