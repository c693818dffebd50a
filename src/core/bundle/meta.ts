import { z } from 'zod';
import { issueProblem } from '../config/zod-issue.js';
import { expected } from '../errors.js';
import { DensityRuleSchema } from '../preprocess/density.js';
import { DIHEDRAL_VIEWS } from '../preprocess/views.js';
import { at } from '../util/at.js';

/**
 * Where a model's backbone weights came from: an ImageNet file (its path and sha256; for a TF.js layers
 * folder, the sha256 of model.json followed by its shards) or seeded random initialisation.
 * `truncatedAt` names the last layer kept when the backbone was cut short (weights missing beyond it).
 */
export const WeightsProvenanceSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('imagenet'),
      file: z.string().min(1),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      truncatedAt: z.string().min(1).optional(),
    })
    .strict(),
  z.object({ kind: z.literal('random'), seed: z.number().int() }).strict(),
]);

/** Where a model's backbone weights came from (see {@link WeightsProvenanceSchema}). */
export type WeightsProvenance = z.infer<typeof WeightsProvenanceSchema>;

/**
 * One short label for tables and logs: `ImageNet (sha256 296b9d43…)`, `ImageNet, truncated at X (…)`,
 * `random (seed 42)`, or `unknown` for models saved before provenance was recorded.
 */
export function describeWeights(weights: WeightsProvenance | null | undefined): string {
  if (!weights) return 'unknown';
  if (weights.kind === 'random') return `random (seed ${weights.seed})`;
  const cut = weights.truncatedAt ? `, truncated at ${weights.truncatedAt}` : '';
  return `ImageNet${cut} (sha256 ${weights.sha256.slice(0, 8)}\u2026)`;
}

/** A metadata field a branch reads (never dx_type). */
const METADATA_FIELD = z.enum(['age', 'sex', 'localization']);

/**
 * `bundle.json`: what travels with every exported model so that the CLI, the server and the web page
 * preprocess and label exactly as training did. The ONNX graph takes `input` as NHWC float32 RGB in
 * [0, 255] (normalisation is inside the graph) and returns softmax probabilities as `probabilities`.
 */
export const BundleMetaSchema = z
  .object({
    format: z.literal('lesionlab-model'),
    version: z.literal(1),
    name: z.string().min(1),
    backbone: z.string().min(1),
    classes: z.array(z.string().min(1)).min(2),
    preprocess: z
      .object({
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        resize: z.enum(['stretch', 'pad', 'crop']),
        colorConstancy: z.boolean(),
        /**
         * The pixel density of the training images and the rule that brings denser inputs down to it before
         * the resize (absent in bundles written before it was recorded: no density step).
         */
        density: DensityRuleSchema.optional(),
      })
      .strict(),
    /**
     * The exact views the model was evaluated with in training, averaged at test time by default
     * (`--tta recipe`); absent in bundles written before it was recorded (the image only).
     */
    testViews: z.array(z.enum(DIHEDRAL_VIEWS)).min(1).optional(),
    /**
     * Post-hoc logit adjustment of the recipe, for the record: `tau`·log(prior) already subtracted in the
     * graph's last bias, so nothing is to be done at inference.
     */
    logitAdjustment: z
      .object({ tau: z.number().nonnegative(), inGraph: z.literal(true) })
      .strict()
      .optional(),
    /**
     * The optional lesion-metadata branch: fields the model accepts and the offsets added to the image logits
     * when an image has metadata; absent = image only. `logit-offsets`: linear, `weights` [classes x (sites + 3)]
     * per present field; `mlp-offsets`: the stacker (core/train/metadata-stacker.ts), `hidden` units, weights
     * w1, b1, w2, b2 in one list.
     */
    metadata: z
      .discriminatedUnion('fusion', [
        z
          .object({
            fields: z.array(METADATA_FIELD).min(1),
            sites: z.array(z.string().min(1)).min(1),
            fusion: z.literal('logit-offsets'),
            weights: z.array(z.number()),
          })
          .strict(),
        z
          .object({
            fields: z.array(METADATA_FIELD).min(1),
            sites: z.array(z.string().min(1)).min(1),
            fusion: z.literal('mlp-offsets'),
            hidden: z.number().int().positive(),
            weights: z.array(z.number()),
          })
          .strict(),
      ])
      .optional(),
    normalization: z
      .object({
        mean: z.tuple([z.number(), z.number(), z.number()]),
        std: z.tuple([z.number(), z.number(), z.number()]),
      })
      .strict(),
    onnx: z
      .object({
        file: z.string().min(1),
        input: z.string().min(1),
        probabilities: z.string().min(1),
        /** Optional class-activation output [N, h, w, classes] for heatmaps. */
        cam: z.string().min(1).optional(),
      })
      .strict(),
    tfjs: z
      .object({ file: z.string().min(1) })
      .strict()
      .optional(),
    metrics: z.record(z.string(), z.unknown()).optional(),
    /** Where the backbone's weights came from (absent in bundles written before it was recorded). */
    weights: WeightsProvenanceSchema.optional(),
    createdAt: z.string(),
  })
  .strict();

/** The parsed, validated content of a model bundle's `bundle.json`. */
export type BundleMeta = z.infer<typeof BundleMetaSchema>;

/** The fix of every bad `bundle.json`: the question that finds where it came from. */
export const BUNDLE_WRITTEN_BY = 'was it written by lesionlab (format "lesionlab-model", version 1)?';

/**
 * Validates the parsed JSON of a `bundle.json` (from a file or a URL, Node or the page); E_MODEL_BUNDLE for
 * `where` naming the first bad key, what it should hold and what it holds.
 */
export function checkBundleMeta(json: unknown, where: string): BundleMeta {
  const parsed = BundleMetaSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problem = issueProblem(at(parsed.error.issues, 0), json);
  throw expected({
    what: `${problem.what} at "${problem.key}"`,
    where,
    received: problem.received,
    fix: BUNDLE_WRITTEN_BY,
    code: 'E_MODEL_BUNDLE',
  });
}
