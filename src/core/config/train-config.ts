import { z } from 'zod';
import { expected, LesionlabError, shown } from '../errors.js';
import { BACKBONE_NAMES } from '../models/registry.js';
import { AugmentConfigSchema } from '../preprocess/augment-config.js';
import { DIHEDRAL_VIEWS } from '../preprocess/views.js';
import { issueProblem } from './zod-issue.js';

export { DIHEDRAL_VIEWS, type DihedralView } from '../preprocess/views.js';

const positiveInt = z.number().int().positive();

/**
 * An augmentation block (`features.augment`, `fineTune.augment`): checked key by key by the preprocess layer's
 * schema, so a bad setting fails before any work, never after the head stage; kept as written (config.json and the
 * resolved type as before; defaults are filled where it is used, by `parseAugmentConfig`).
 */
const AugmentBlock = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const result = AugmentConfigSchema.safeParse(value);
  if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ ...issue });
});

/** The keys an augmentation block allows, for error messages. */
const AUGMENT_KEYS = Object.keys(AugmentConfigSchema.shape).join(', ');

const DataSchema = z
  .object({
    /** Dataset folder (HAM10000 layout by default). */
    root: z.string().min(1).default('data/sample/ham10000'),
    format: z.enum(['ham10000', 'folder-per-class', 'generic-csv', 'isic-onehot']).optional(),
    /** An existing split file to reuse; otherwise a lesion-grouped split is drawn with `seed`. */
    splitFile: z.string().min(1).optional(),
    /**
     * Leave images that cannot be decoded (truncated or corrupt files) out of training, validation and test,
     * logging each one, instead of stopping at the first (`--skip-bad-images`).
     */
    skipBadImages: z.boolean().default(false),
    /**
     * How a drawn split groups images: `auto` keeps each lesion (the dataset's lesion/patient column) in one
     * part and refuses data without one; `image` confirms one group per image for such data.
     */
    groupBy: z.enum(['auto', 'image']).default('auto'),
    val: z.number().min(0).max(0.5).default(0.15),
    test: z.number().min(0).max(0.5).default(0.15),
  })
  .strict();

const ModelSchema = z
  .object({
    /** A registry backbone; a typo fails here, listing the valid names. */
    backbone: z.enum(BACKBONE_NAMES).default('mobilenet_v1'),
    /**
     * `auto`: ImageNet weights when they can be had, else seeded random ones (one loud warning, recorded
     * as such in every output); `imagenet`: required, the run stops before any work without them; `random`.
     */
    weights: z.enum(['auto', 'imagenet', 'random']).default('auto'),
    weightsPath: z.string().min(1).optional(),
    /** Pooled features fed to the head: global average, or average and max concatenated. */
    pooling: z.enum(['avg', 'avg+max']).default('avg'),
    /**
     * Earlier backbone layers whose global averages are concatenated before the output's pooling
     * (multi-scale features, e.g. `conv_pw_5_relu` for MobileNet v1); [] = the output only.
     */
    taps: z.array(z.string().min(1)).default([]),
    /** Train the head on z-scored features (train-split mean/std), folded into the first layer at the end. */
    standardize: z.boolean().default(true),
    /** Width of one hidden ReLU layer in the head; 0 = a linear probe. */
    hidden: z.number().int().nonnegative().default(0),
    dropout: z.number().min(0).max(0.95).default(0.2),
    /**
     * Lesion-metadata branch, fitted over the trained head (after fine-tuning: the tuned model) from age, sex
     * and anatomical site (never dx_type) and recorded in the bundle; exactly the image model for an image without
     * metadata. `late-fusion`: linear class-logit offsets; `stacker`: a small ReLU network on the metadata and the
     * image log-probabilities (core/train/metadata-stacker.ts; bench:metadata chose it on validation).
     */
    metadata: z.enum(['none', 'late-fusion', 'stacker']).default('none'),
    /**
     * L2 penalty of the metadata branch; default per branch, chosen on validation by bench:metadata
     * (late-fusion 1e-2, stacker 1e-3).
     */
    metadataL2: z.number().nonnegative().optional(),
    /** Hidden ReLU units of the `stacker` branch. */
    metadataHidden: z.number().int().positive().max(1024).default(16),
    /**
     * Image logits the metadata offsets are fitted over: `out-of-fold` (5 lesion-grouped folds of the training
     * split, each scored by a head trained on the others: 5 more head fits) or `in-sample` (the trained head's own).
     */
    metadataFit: z.enum(['out-of-fold', 'in-sample']).default('out-of-fold'),
  })
  .strict();

const PreprocessSchema = z
  .object({
    resize: z.enum(['stretch', 'pad', 'crop']).default('stretch'),
    colorConstancy: z.boolean().default(false),
    /**
     * Pixel-density rule recorded in the bundle: at inference, inputs whose short side exceeds `maxRatio` x
     * the training images' (median) short side are first area-downscaled to it (`enabled: false` records it off).
     */
    density: z
      .object({
        enabled: z.boolean().default(true),
        maxRatio: z.number().min(1).max(16).default(1.25),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const FeaturesSchema = z
  .object({
    /** Forward engine for feature extraction: ONNX Runtime (fast) or TF.js (fallback). */
    engine: z.enum(['onnx', 'tfjs']).default('onnx'),
    /** Number of exact dihedral views per image (1 = the image only; 8 = all flips x rotations). */
    views: z.number().int().min(1).max(DIHEDRAL_VIEWS.length).default(2),
    /** Extra randomly augmented views per image (augmentation from the preprocess layer). */
    randomViews: z.number().int().nonnegative().default(0),
    /**
     * Augmentation settings of the random views (the preprocess layer's keys); unused with `randomViews: 0`
     * (a run says so in its log; configs that keep the block for later runs stay valid).
     */
    augment: AugmentBlock.optional(),
    /** Each epoch trains on one random view per image, or on every view. */
    sampling: z.enum(['one', 'all']).default('one'),
    /** Average predictions over all views at validation/test time. */
    tta: z.boolean().default(true),
    /**
     * Images per extraction batch (and per prefix-cache batch when fine-tuning). Random views are drawn per batch,
     * so it is part of their cache keys (`randomViews`, `fineTune.augmentViews`); exact-view caches ignore it.
     */
    batchSize: positiveInt.default(32),
    threads: positiveInt.optional(),
    /** Where image and feature caches live. */
    cacheRoot: z.string().min(1).default('.cache/lesionlab'),
  })
  .strict();

const TrainSchema = z
  .object({
    epochs: positiveInt.default(60),
    batchSize: positiveInt.default(64),
    learningRate: z.number().positive().default(1e-3),
    /**
     * TF.js backend for training: `auto` = native tfjs-node when installed, else wasm for a head on cached
     * features (several times faster than cpu), else cpu (fine-tuning needs convolution gradients).
     */
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    /** L2 penalty on the head's kernels. */
    weightDecay: z.number().nonnegative().default(0),
    classWeights: z.enum(['balanced', 'effective', 'none']).default('balanced'),
    /** Tempering exponent: weights become w^power (0.5 = square root of balanced). */
    classWeightPower: z.number().min(0).max(2).default(1),
    effectiveBeta: z.number().min(0).lt(1).default(0.999),
    loss: z.enum(['cross-entropy', 'focal']).default('cross-entropy'),
    focalGamma: z.number().nonnegative().default(2),
    /** Label smoothing ε of every stage's loss: targets 1 − ε on the label, ε/classes on each class (0 = off). */
    labelSmoothing: z.number().min(0).lt(1).default(0),
    logitAdjustment: z
      .object({
        /** `train`: add tau·log(prior) to logits in the loss; `posthoc`: subtract it at inference. */
        mode: z.enum(['none', 'train', 'posthoc']).default('none'),
        tau: z.number().nonnegative().default(1),
      })
      .strict()
      .prefault({}),
    earlyStopping: z
      .object({ patience: positiveInt.default(8), minDelta: z.number().nonnegative().default(1e-4) })
      .strict()
      .prefault({}),
    reduceLr: z
      .object({
        patience: positiveInt.default(3),
        factor: z.number().gt(0).lt(1).default(0.5),
        minLr: z.number().nonnegative().default(1e-6),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const FineTuneSchema = z
  .object({
    enabled: z.boolean().default(false),
    /**
     * Top blocks of the backbone after the split: the prefix below them runs frozen in `prefixEngine`, these
     * blocks (the tail) run in TF.js on the training backend and are unfrozen after the head converged.
     */
    blocks: positiveInt.default(2),
    /**
     * Of the tail's blocks, unfreeze only the top ones, at most `blocks` (default: all `blocks`; one prefix cache,
     * several choices).
     */
    trainBlocks: positiveInt.optional(),
    epochs: positiveInt.default(5),
    learningRate: z.number().positive().default(1e-5),
    /**
     * Learning rate of the head in this stage (default: `learningRate`, the tail's): a head that tracks the tail's
     * moving features faster than the tail moves (discriminative learning rates).
     */
    headLearningRate: z.number().positive().optional(),
    batchSize: positiveInt.default(16),
    /**
     * Learning-rate schedule of this stage: `plateau` (the rate stays until the validation loss stalls, then
     * `train.reduceLr` lowers it) or `cosine` (cosine decay step by step to `minLrFactor` of the rate at the last
     * epoch). Either starts with a linear warm-up over `warmupEpochs`, so Adam's first steps on pretrained blocks
     * are gentler.
     */
    schedule: z.enum(['plateau', 'cosine']).default('plateau'),
    /** Epochs of linear warm-up from the first step (fractions allowed; default 1 with `cosine`, 0 with `plateau`). */
    warmupEpochs: z.number().nonnegative().optional(),
    minLrFactor: z.number().min(0).max(1).default(0),
    /**
     * Mixup α of this stage: each batch of the tail's inputs (the prefix's activations: manifold mixup) blended with
     * a shuffled copy by λ ~ Beta(α, α), the loss blending both labels; a regulariser against the tail over-fitting.
     * 0 = off.
     */
    mixup: z.number().nonnegative().max(10).default(0),
    /**
     * Decay of an exponential moving average of the tail's and head's weights, updated after every step (Polyak
     * averaging, Keras's `ema_momentum`): validation, early stopping and the exported model use the average. 0.998
     * averages over ~500 steps; 0 = off (the last step's weights).
     */
    weightAverage: z.number().min(0).lt(1).default(0),
    /** Where the frozen prefix runs: ONNX Runtime (exported by our exporter) or TF.js (fallback). */
    prefixEngine: z.enum(['onnx', 'tfjs']).default('onnx'),
    /**
     * Cache the prefix's activations of every image and exact view (`features.views`) on disk, computed
     * once; false computes the same views on the fly (same training set, slower); ignored with `augment` (the
     * prefix then runs on the fly on each augmented batch).
     */
    cachePrefix: z.boolean().default(true),
    /** Storage of cached activations: float16 halves the disk and page cache (relative error < 1e-3). */
    cacheDtype: z.enum(['float16', 'float32']).default('float16'),
    /** On-the-fly augmentation of training batches (the preprocess layer's keys) before the prefix. */
    augment: AugmentBlock.optional(),
    /**
     * With `augment`: cache this many seeded random augmented views of every training image's prefix activations
     * (built once, on disk like the exact views; each epoch draws one per image), so epochs run at the cache's
     * speed; 0 = augment every batch on the fly (new views every epoch, the prefix and augmentation each step).
     */
    augmentViews: z.number().int().nonnegative().default(0),
    /**
     * Stage 3: fit a fresh head on the tuned tail's pooled features (the stage-1 recipe) and keep it, or the average
     * of its and the stage-2 head's logits, when that scores a higher validation balanced accuracy than the head
     * trained along with the tail (default true).
     */
    refitHead: z.boolean().default(true),
    /**
     * BatchNorm of the tail: `frozen` (inference mode, scale and offset kept), `affine` (inference mode with the
     * ImageNet statistics, scale and offset trained: a per-channel re-weighting for the new domain at no extra
     * cost) or `train` (batch statistics, moving statistics updated, scale and offset trained).
     */
    batchNorm: z.enum(['frozen', 'affine', 'train']).default('frozen'),
  })
  .strict()
  .superRefine((ft, ctx) => {
    if (ft.trainBlocks !== undefined && ft.trainBlocks > ft.blocks)
      ctx.addIssue(
        crossKeyIssue(
          ['trainBlocks'],
          `a number from 1 to fineTune.blocks (${ft.blocks})`,
          `the unfrozen blocks lie in the tail: lower fineTune.trainBlocks to at most ${ft.blocks}, or raise fineTune.blocks to ${ft.trainBlocks}`,
        ),
      );
  });

/**
 * An issue about one key that depends on another (`fineTune.trainBlocks` <= `fineTune.blocks`): `what` is the
 * value wanted, `fix` replaces the generic advice of {@link parseTrainConfig}.
 */
function crossKeyIssue(path: string[], what: string, fix: string) {
  return { code: 'custom' as const, path, message: what, params: { fix } };
}

const OutputSchema = z
  .object({
    runsDir: z.string().min(1).default('runs'),
    /** Run directory name; default `<timestamp>-<backbone>`. */
    name: z.string().min(1).optional(),
  })
  .strict();

/** The whole training recipe: one strict schema, every key defaulted; the resolved form is saved with each run. */
export const TrainConfigSchema = z
  .object({
    seed: z.number().int().nonnegative().default(42),
    data: DataSchema.prefault({}),
    model: ModelSchema.prefault({}),
    preprocess: PreprocessSchema.prefault({}),
    features: FeaturesSchema.prefault({}),
    train: TrainSchema.prefault({}),
    fineTune: FineTuneSchema.prefault({}),
    output: OutputSchema.prefault({}),
  })
  .strict();

/** A config as written by a user (every key optional). */
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
type ParsedTrainConfig = z.output<typeof TrainConfigSchema>;
/** A resolved config: every default filled in (`fineTune.warmupEpochs` by its schedule). */
export type TrainConfig = Omit<ParsedTrainConfig, 'fineTune'> & {
  readonly fineTune: ParsedTrainConfig['fineTune'] & { readonly warmupEpochs: number };
};

/**
 * Validates a config object and fills defaults. Throws `E_CONFIG` naming the first bad key, what is allowed
 * and what it got, e.g. `expected a number for config train.epochs but received "ten"; ...`.
 */
export function parseTrainConfig(input: unknown, source = 'config'): TrainConfig {
  const result = TrainConfigSchema.safeParse(input ?? {});
  if (result.success) return withScheduleDefaults(result.data);
  const [issue] = result.error.issues;
  if (!issue) throw new LesionlabError('E_CONFIG', `${source}: ${result.error.message}`);
  const { what, key, received } = issueProblem(issue, input, allowedKeys);
  const inAugment = configKeySchema(issue.path.slice(0, 2).map(String).join('.')) === AugmentBlock;
  throw expected({
    what,
    where: `${source} ${key}`,
    received,
    fix:
      issue.code === 'unrecognized_keys'
        ? `remove ${issue.keys.length > 1 ? 'them' : 'it'} or fix the spelling`
        : issue.code === 'custom' && typeof issue.params?.fix === 'string'
          ? issue.params.fix
          : inAugment && issue.path.length > 2
            ? `allowed keys: ${AUGMENT_KEYS}`
            : '`lesionlab train --print-config` prints every key with its default',
    code: 'E_CONFIG',
  });
}

/** Fills the defaults that depend on another key: stage 2's warm-up is 1 epoch under `cosine`, none under `plateau`. */
function withScheduleDefaults(config: ParsedTrainConfig): TrainConfig {
  const ft = config.fineTune;
  return {
    ...config,
    fineTune: { ...ft, warmupEpochs: ft.warmupEpochs ?? (ft.schedule === 'cosine' ? 1 : 0) },
  };
}

function allowedKeys(path: readonly PropertyKey[]): string {
  const inner = configKeySchema(path.map(String).join('.'));
  if (inner === AugmentBlock) return AUGMENT_KEYS;
  return inner instanceof z.ZodObject ? Object.keys(inner.shape).join(', ') : '?';
}

/** Every dotted key of the training config (nested sections expanded), in schema order: `seed`, `data.root`, ... */
export function configKeyNames(schema: z.ZodType = TrainConfigSchema, prefix = ''): string[] {
  const inner = unwrap(schema);
  if (!(inner instanceof z.ZodObject)) return [];
  return Object.entries(inner.shape).flatMap(([key, child]) => {
    const nested = configKeyNames(child as z.ZodType, `${prefix}${key}.`);
    return nested.length > 0 ? nested : [`${prefix}${key}`];
  });
}

/**
 * The schema of one dotted config key (`train.epochs`, `model.backbone`) without its default or optional
 * wrapper: what the CLI reads a flag's choices and limits from. Undefined for a key the config does not have.
 */
export function configKeySchema(key: string): z.ZodType | undefined {
  let shape: z.ZodType = TrainConfigSchema;
  for (const part of key === '' ? [] : key.split('.')) {
    const inner = unwrap(shape);
    if (!(inner instanceof z.ZodObject) || !(part in inner.shape)) return undefined;
    shape = inner.shape[part] as z.ZodType;
  }
  return unwrap(shape);
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  while (
    current instanceof z.ZodPrefault ||
    current instanceof z.ZodDefault ||
    current instanceof z.ZodOptional
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

/**
 * Sets dotted keys (`train.epochs`) on a plain config object, returning a new object: how CLI flags override
 * a JSON config file. Values are kept as given; `parseTrainConfig` validates them afterwards.
 */
export function applyConfigOverrides(
  base: Readonly<Record<string, unknown>>,
  overrides: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out = structuredClone(base) as Record<string, unknown>;
  for (const [dotted, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const parts = dotted.split('.');
    const leaf = parts.pop() ?? dotted;
    let node = out;
    for (const part of parts) {
      const next = node[part];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[leaf] = value;
  }
  return out;
}

/**
 * Parses a `key=value` override (`train.epochs=5`); numbers, booleans and JSON lists/objects are converted, the
 * rest stays text. A text key (`output.name`, `data.root`) keeps its value as written: `output.name=2024` is "2024".
 */
export function parseOverride(text: string): [string, unknown] {
  const at = text.indexOf('=');
  if (at <= 0) {
    throw expected({
      what: 'key=value',
      where: '--set',
      received: shown(text),
      fix: 'e.g. --set train.epochs=5',
      code: 'E_CONFIG',
    });
  }
  const key = text.slice(0, at);
  const raw = text.slice(at + 1);
  if (configKeySchema(key) instanceof z.ZodString) return [key, raw];
  let value: unknown = raw;
  if (raw === 'true' || raw === 'false') value = raw === 'true';
  else if (raw.trim() !== '' && Number.isFinite(Number(raw))) value = Number(raw);
  else if (/^\s*[[{]/.test(raw)) {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw expected({
        what: 'valid JSON',
        where: `--set ${key}`,
        received: raw,
        fix: 'write lists like ["conv_pw_5_relu","conv_pw_11_relu"]',
        code: 'E_CONFIG',
        cause: error,
      });
    }
  }
  return [key, value];
}

/** Splits `a=1,b=[1,2]` into its key=value pairs at the commas outside brackets and quotes. */
export function splitOverrides(text: string): string[] {
  const pairs: string[] = [];
  let [depth, quoted, start] = [0, false, 0];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '[' || c === '{')) depth++;
    else if (!quoted && (c === ']' || c === '}')) depth--;
    else if (!quoted && depth === 0 && c === ',') {
      pairs.push(text.slice(start, i));
      start = i + 1;
    }
  }
  pairs.push(text.slice(start));
  return pairs.filter(Boolean);
}
