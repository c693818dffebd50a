import { readFile } from 'node:fs/promises';
import { type ArgsDef, defineCommand } from 'citty';
import { MultiBar, Presets } from 'cli-progress';
import {
  applyConfigOverrides,
  parseOverride,
  parseTrainConfig,
  splitOverrides,
  type TrainConfig,
} from '../core/config/train-config.js';
import { LesionlabError } from '../core/errors.js';
import type { ProgressHook } from '../core/logger.js';
import { BACKBONE_NAMES } from '../core/models/registry.js';
import { type TrainRunOptions, type TrainRunResult, trainRun } from '../node/train/pipeline.js';
import { consoleLogger } from './console-logger.js';
import { withEstimates } from './progress.js';
import { trainDescription } from './train-help.js';

/** Flags shared by `train` and `run`; each maps onto one config key (see TrainConfigSchema). */
export const trainArgs = {
  config: { type: 'string', description: 'JSON config file (flags override it)' },
  data: { type: 'string', description: 'Dataset root [data.root]' },
  split: { type: 'string', description: 'Reuse a split file [data.splitFile]' },
  backbone: { type: 'string', description: `${BACKBONE_NAMES.join(' | ')} [model.backbone]` },
  weights: {
    type: 'string',
    description: 'auto (ImageNet, else random) | imagenet (required) | random [model.weights]',
  },
  epochs: { type: 'string', description: 'Max head epochs [train.epochs]' },
  views: { type: 'string', description: 'Exact flip/rotation views per image, 1-8 [features.views]' },
  engine: { type: 'string', description: 'onnx | tfjs feature engine [features.engine]' },
  seed: { type: 'string', description: 'Seed for split, init, shuffling, dropout [seed]' },
  'runs-dir': { type: 'string', description: 'Where run folders go [output.runsDir]' },
  name: { type: 'string', description: 'Run folder name [output.name]' },
  set: { type: 'string', description: 'Other keys: key=value[,key=value] e.g. train.batchSize=32' },
  resume: { type: 'string', description: 'Continue an interrupted run folder from its last checkpoint' },
  'skip-bad-images': {
    type: 'boolean',
    description: 'Leave undecodable images out instead of stopping [data.skipBadImages]',
  },
  'print-config': {
    type: 'boolean',
    description: 'Print the resolved config (file + flags + every default) as JSON and exit',
  },
} satisfies ArgsDef;

/** `--print-config`: writes the resolved config as JSON to stdout; true when it did (the command then stops). */
export function printConfigIfAsked(args: Record<string, unknown>, config: TrainConfig): boolean {
  if (args['print-config'] !== true) return false;
  process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
  return true;
}

const FLAG_KEYS: Readonly<Record<string, string>> = {
  data: 'data.root',
  split: 'data.splitFile',
  backbone: 'model.backbone',
  weights: 'model.weights',
  epochs: 'train.epochs',
  views: 'features.views',
  engine: 'features.engine',
  seed: 'seed',
  'runs-dir': 'output.runsDir',
  name: 'output.name',
};

/** Config file + flags → resolved config (flags win; errors name the key). */
export async function resolveTrainConfig(
  args: Record<string, unknown>,
  base: Record<string, unknown> = {},
): Promise<TrainConfig> {
  const file = typeof args.config === 'string' ? await readConfigFile(args.config) : {};
  const overrides: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FLAG_KEYS)) {
    if (typeof args[flag] === 'string') overrides[key] = parseOverride(`${key}=${args[flag]}`)[1];
  }
  if (args['skip-bad-images'] === true) overrides['data.skipBadImages'] = true;
  if (typeof args.set === 'string') {
    for (const pair of splitOverrides(args.set)) overrides[parseOverride(pair)[0]] = parseOverride(pair)[1];
  }
  return parseTrainConfig(
    applyConfigOverrides(deepMerge(base, file), overrides),
    typeof args.config === 'string' ? args.config : 'config',
  );
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    const bothObjects = [prior, value].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    out[key] = bothObjects
      ? deepMerge(prior as Record<string, unknown>, value as Record<string, unknown>)
      : value;
  }
  return out;
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new LesionlabError(
      'E_MISSING_FILE',
      `${path}: cannot read the config file; check the --config path`,
    );
  });
  try {
    // Editors on Windows save UTF-8 with a byte-order mark; JSON.parse rejects it (the CSV reader strips it too).
    return JSON.parse(text.replace(/^\uFEFF/, '')) as Record<string, unknown>;
  } catch (error) {
    throw new LesionlabError('E_CONFIG', `${path}: not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Runs training with progress bars with ETA on a TTY (feature extraction, epochs), one summary line per epoch and,
 * before feature extraction's long work, one line estimating its time from a measured warm-up.
 */
export async function trainWithProgress(config: TrainConfig, resumeDir?: string): Promise<TrainRunResult> {
  const bars = process.stderr.isTTY
    ? new MultiBar(
        {
          stream: process.stderr,
          clearOnComplete: true,
          format: ' {label} [{bar}] {value}/{total} ETA {eta_formatted}',
        },
        Presets.shades_classic,
      )
    : undefined;
  let current: { label: string; bar: ReturnType<MultiBar['create']> } | undefined;
  const progress: ProgressHook = (done, total, label = '') => {
    if (!bars) return;
    if (current?.label !== label) {
      if (current) bars.remove(current.bar);
      current = { label, bar: bars.create(total, 0, { label }) };
    }
    current.bar.setTotal(total);
    current.bar.update(done, { label });
  };
  const logger = bars ? { ...consoleLogger, info: (m: string) => bars.log(`${m}\n`) } : consoleLogger;
  const options: TrainRunOptions = {
    logger,
    onProgress: withEstimates(progress, logger.info), // feature extraction: an estimate after a warm-up
    onBatch: (done, total) => progress(done, total, 'epoch'),
    resumeDir,
  };
  try {
    return await trainRun(config, options);
  } finally {
    bars?.stop();
  }
}

/** `lesionlab train`: dataset + split + backbone → trained classifier bundle in a run folder. */
export const trainCommand = defineCommand({
  meta: {
    name: 'train',
    description: trainDescription('Train a classifier (frozen backbone, cached features) into a run folder.'),
  },
  args: trainArgs,
  async run({ args }) {
    const config = await resolveTrainConfig(args);
    if (printConfigIfAsked(args, config)) return;
    const result = await trainWithProgress(config, typeof args.resume === 'string' ? args.resume : undefined);
    consoleLogger.info(`best epoch ${result.bestEpoch}; model bundle: ${result.bundleDir ?? '(none)'}`);
    consoleLogger.info(`run: ${result.runDir}`);
  },
});
