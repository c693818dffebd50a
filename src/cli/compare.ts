import { defineCommand } from 'citty';
import { z } from 'zod';
import { LesionlabError } from '../core/errors.js';
import { BACKBONE_NAMES, getBackbone } from '../core/models/registry.js';
import { compareBackbones, compareEvaluations } from '../node/compare/compare.js';
import { compareConfigs } from './compare-configs.js';
import { consoleLogger } from './console-logger.js';

const count = z.coerce.number().int().positive();
const ArgsSchema = z
  .object({
    subset: count.optional(),
    epochs: count.optional(),
    seed: z.coerce.number().int().nonnegative().optional(),
    resamples: count.optional(),
    weights: z.enum(['auto', 'imagenet', 'random']).optional(),
  })
  .strict();

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function parseNumbers(raw: Record<string, unknown>): z.infer<typeof ArgsSchema> {
  const picked = Object.fromEntries(
    Object.keys(ArgsSchema.shape).flatMap((k) => (raw[k] === undefined ? [] : [[k, raw[k]]])),
  );
  const parsed = ArgsSchema.safeParse(picked);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new LesionlabError(
    'E_CONFIG',
    `--${issue.path.join('.')}: ${issue.message} (got "${String(raw[String(issue.path[0])])}")`,
  );
}

/** `lesionlab compare`: train backbones on one split with one recipe (or load evaluated runs) and compare them. */
export const compareCommand = defineCommand({
  meta: {
    name: 'compare',
    description: 'Train and compare several backbones on one split, or compare evaluated runs',
  },
  args: {
    backbones: {
      type: 'string',
      description: `comma-separated backbones to train: ${BACKBONE_NAMES.join(', ')}`,
    },
    configs: {
      type: 'string',
      description:
        'comma-separated training configs (e.g. configs/seed-densenet121.json,configs/best-mobilenet-v1.json) to train on one split and compare',
    },
    evaluations: {
      type: 'string',
      description: 'comma-separated evaluation folders (e.g. runs/a/eval-test) to compare instead',
    },
    data: { type: 'string', description: 'dataset root (default: the embedded sample)' },
    format: { type: 'string', description: 'dataset format (default: auto)' },
    subset: { type: 'string', description: 'use about N images (whole lesions, stratified)' },
    epochs: { type: 'string', description: 'maximum epochs per backbone' },
    weights: {
      type: 'string',
      description:
        'auto (ImageNet where available, else random, recorded) | imagenet (required) | random; default auto',
    },
    seed: { type: 'string', description: 'seed of the split and training' },
    resamples: { type: 'string', description: 'bootstrap resamples (default 1000)' },
    out: { type: 'string', description: 'output folder', default: 'runs/compare' },
  },
  async run({ args }) {
    const n = parseNumbers(args);
    const evaluations = list(args.evaluations);
    for (const name of list(args.backbones)) getBackbone(name); // a typo fails here, listing valid names
    const configs = list(args.configs);
    const result =
      evaluations.length > 0 || configs.length > 0
        ? await (configs.length > 0
            ? compareConfigs(configs, { ...n, data: args.data, out: args.out, logger: consoleLogger })
            : compareEvaluations(evaluations, args.out))
        : await compareBackbones({
            backbones: list(args.backbones),
            data: args.data,
            format: args.format,
            subset: n.subset,
            epochs: n.epochs,
            seed: n.seed,
            weights: n.weights,
            bootstrap: { resamples: n.resamples },
            out: args.out,
            logger: consoleLogger,
          });
    for (const m of result.data.models) {
      const ci = m.metrics.bootstrap?.balancedAccuracy;
      consoleLogger.info(
        `${m.name.padEnd(22)} weights ${m.weights ?? 'unknown'}; balanced accuracy ${(m.metrics.balancedAccuracy * 100).toFixed(1)}%${ci ? ` (${(ci.lower * 100).toFixed(1)}-${(ci.upper * 100).toFixed(1)})` : ''}`,
      );
    }
    for (const t of result.data.pairwise)
      consoleLogger.info(`McNemar ${t.modelA} vs ${t.modelB}: p = ${t.pValue.toPrecision(3)} (${t.method})`);
    consoleLogger.info(`report: ${result.report.html}`);
  },
});
