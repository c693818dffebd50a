import { z } from 'zod';
import {
  applyConfigOverrides,
  configKeySchema,
  parseOverride,
  parseTrainConfig,
  splitOverrides,
  type TrainConfig,
} from '../../core/config/train-config.js';
import { expected, shown } from '../../core/errors.js';
import { readRunConfig } from '../../node/train/run-open.js';
import { integerRange } from './describe.js';
import { readJsonFlag } from './json-file.js';
import { booleanFlag, defineFlags, type FlagSpec, textFlag } from './table.js';

/** An enum's choices for a help text, each with its note: `auto (ImageNet, else random) | imagenet (required) | random`. */
export function choicesText(schema: z.ZodEnum, notes: Readonly<Record<string, string>> = {}): string {
  return schema.options
    .map((c) => (notes[String(c)] ? `${String(c)} (${notes[String(c)]})` : String(c)))
    .join(' | ');
}

/**
 * A flag that sets one training-config key; its help says the key, and its choices (a registry's names, e.g.
 * the backbones) or integer range as the config schema has them, so they are never typed twice.
 * `notes` adds a few words to a choice: `{ imagenet: 'required' }` shows `imagenet (required)`.
 */
export function configFlag(
  key: string,
  text = '',
  notes: Readonly<Record<string, string>> = {},
): FlagSpec & { key: string } {
  const schema = configKeySchema(key);
  if (!schema) {
    throw expected({
      what: 'a training-config key',
      where: 'configFlag',
      received: shown(key),
      fix: 'name a key of TrainConfigSchema',
      code: 'E_CONFIG',
    });
  }
  if (schema instanceof z.ZodBoolean) return booleanFlag({ description: `${text} [${key}]`, key });
  const choices = schema instanceof z.ZodEnum ? choicesText(schema, notes) : '';
  const range = integerRange(schema);
  const described = [choices, `${text}${range ? `, ${range[0]}-${range[1]}` : ''}`].filter(Boolean).join(' ');
  return textFlag({ description: `${described} [${key}]`, key });
}

/** Flags shared by `train` and `run`; each but the first and the last four sets one config key. */
export const TRAIN_FLAGS = {
  config: textFlag({ description: 'JSON config file (flags override it)' }),
  data: configFlag('data.root', 'Dataset root'),
  split: configFlag('data.splitFile', 'Reuse a split file'),
  backbone: configFlag('model.backbone'),
  weights: configFlag('model.weights', '', { auto: 'ImageNet, else random', imagenet: 'required' }),
  epochs: configFlag('train.epochs', 'Max head epochs'),
  views: configFlag('features.views', 'Exact flip/rotation views per image'),
  engine: configFlag('features.engine', 'feature engine'),
  seed: configFlag('seed', 'Seed for split, init, shuffling, dropout'),
  'runs-dir': configFlag('output.runsDir', 'Where run folders go'),
  name: configFlag('output.name', 'Run folder name'),
  set: textFlag({ description: 'Other keys: key=value[,key=value] e.g. train.batchSize=32' }),
  resume: textFlag({
    description:
      'Continue an interrupted run folder from its last checkpoint, with its saved config (config flags are refused)',
  }),
  'skip-bad-images': configFlag('data.skipBadImages', 'Leave undecodable images out instead of stopping'),
  'print-config': booleanFlag({
    description: 'Print the resolved config (file + flags + every default) as JSON and exit',
  }),
} as const;

/** The `train`/`run` flag table with citty's args and the parse step. */
export const trainFlags = defineFlags(TRAIN_FLAGS);

/** `--print-config`: writes the resolved config as JSON to stdout; true when it did (the command then stops). */
export function printConfigIfAsked(args: Readonly<Record<string, unknown>>, config: TrainConfig): boolean {
  if (args['print-config'] !== true) return false;
  process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
  return true;
}

/** The config keys the flags in `args` set: text through `parseOverride` (as `--set`), a boolean as given. */
function flagOverrides(args: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(TRAIN_FLAGS)) {
    if (!('key' in spec)) continue;
    const value = args[flag];
    if (typeof value === 'string') overrides[spec.key] = parseOverride(`${spec.key}=${value}`)[1];
    if (value === true) overrides[spec.key] = true;
  }
  return overrides;
}

/**
 * The flags in `args` that would change the config (`--config`, `--set`, every flag that sets a key), as typed
 * on the command line: `--set`, `--epochs`.
 */
function configFlagsGiven(args: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(TRAIN_FLAGS)
    .filter(
      ([flag, spec]) => ('key' in spec || flag === 'config' || flag === 'set') && args[flag] !== undefined,
    )
    .map(([flag]) => `--${flag}`);
}

/**
 * Refuses `--resume` with flags that change the config: a resumed run continues with the config saved in its
 * folder (its split, caches and checkpoints were made with it), so such flags would be silently ignored.
 */
function refuseConfigFlagsOnResume(args: Readonly<Record<string, unknown>>): void {
  if (typeof args.resume !== 'string') return;
  const given = configFlagsGiven(args);
  if (given.length === 0) return;
  throw expected({
    what: 'no config flags with --resume (the run continues with its saved config.json)',
    where: `--resume ${args.resume}`,
    received: given.join(', '),
    fix: 'drop them to continue the run as it was configured, or start a new run (without --resume, another --name) with the changed settings',
    code: 'E_USAGE',
  });
}

/**
 * Config file + flags → resolved config (flags win, then `--set`; errors name the key). With `--resume` no flag
 * may change the config (E_USAGE): the run's saved config.json is the one it continues with.
 */
export async function resolveTrainConfig(
  args: Readonly<Record<string, unknown>>,
  base: Record<string, unknown> = {},
): Promise<TrainConfig> {
  refuseConfigFlagsOnResume(args);
  // a resumed run continues with its saved config (what --print-config shows too)
  if (typeof args.resume === 'string') return readRunConfig(args.resume);
  const file =
    typeof args.config === 'string'
      ? ((await readJsonFlag(args.config, '--config')) as Record<string, unknown>)
      : {};
  const overrides = flagOverrides(args);
  if (typeof args.set === 'string') {
    for (const pair of splitOverrides(args.set)) {
      const [key, value] = parseOverride(pair);
      overrides[key] = value;
    }
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
