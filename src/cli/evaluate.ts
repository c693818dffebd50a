import { defineCommand } from 'citty';
import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { LesionlabError } from '../core/errors.js';
import { evaluateModel } from '../node/evaluate/evaluate.js';
import { consoleLogger } from './console-logger.js';

const count = z.coerce.number().int().positive();
const ArgsSchema = z
  .object({
    split: z.enum(['test', 'val', 'all']).optional(),
    tta: z.enum(['recipe', 'none', 'hflip', 'flips', 'dihedral']).optional(),
    resamples: count.optional(),
    seed: z.coerce.number().int().optional(),
    limit: count.optional(),
    threads: count.optional(),
    'batch-size': count.optional(),
  })
  .strict();

function parseArgs(raw: Record<string, unknown>): z.infer<typeof ArgsSchema> {
  const picked = Object.fromEntries(
    Object.keys(ArgsSchema.shape)
      .map((k) => [k, raw[k]])
      .filter(([, v]) => v !== undefined),
  );
  const parsed = ArgsSchema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LesionlabError(
      'E_CONFIG',
      `--${issue.path.join('.')}: ${issue.message} (got "${String(raw[String(issue.path[0])])}")`,
    );
  }
  return parsed.data;
}

/** `lesionlab evaluate <run-dir|bundle>`: metrics with CIs, predictions.csv and an HTML/Markdown report. */
export const evaluateCommand = defineCommand({
  meta: { name: 'evaluate', description: 'Evaluate a model on a labelled dataset and write a report' },
  args: {
    target: { type: 'positional', description: 'training run folder or model bundle folder', required: true },
    data: { type: 'string', description: "dataset root or CSV (default: the run's dataset)" },
    format: { type: 'string', description: 'ham10000 | folder | csv | isic (default: auto)' },
    split: { type: 'string', description: 'test | val | all (default: test for a run, else all)' },
    tta: {
      type: 'string',
      description:
        "views averaged per image: recipe (default: the bundle's own, as training evaluated it) | none | hflip | flips | dihedral",
    },
    density: {
      type: 'boolean',
      description: "apply the bundle's pixel-density rule (--no-density to skip)",
      default: true,
    },
    'tune-offsets': { type: 'boolean', description: 'tune per-class logit offsets on the validation split' },
    out: { type: 'string', description: 'output folder (default: <run>/eval-<split>)' },
    resamples: { type: 'string', description: 'bootstrap resamples (default 1000)' },
    seed: { type: 'string', description: 'bootstrap seed (default 0)' },
    limit: { type: 'string', description: 'evaluate only the first N images' },
    screenshot: {
      type: 'boolean',
      description: 'save report.png with headless Chromium (--no-screenshot to skip)',
    },
    threads: { type: 'string', description: 'ONNX Runtime threads' },
    'batch-size': { type: 'string', description: 'images per batch (default 32)' },
  },
  async run({ args }) {
    const a = parseArgs(args);
    const bar = process.stderr.isTTY ? new SingleBar({ stream: process.stderr }) : undefined;
    let started = false;
    const result = await evaluateModel({
      target: args.target,
      data: args.data,
      format: args.format,
      split: a.split,
      tta: a.tta ?? 'recipe',
      density: args.density !== false,
      tuneOffsets: args['tune-offsets'] === true,
      out: args.out,
      bootstrap: { resamples: a.resamples, seed: a.seed },
      limit: a.limit,
      screenshot: args.screenshot,
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
