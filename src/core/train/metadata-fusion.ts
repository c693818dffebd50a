import { expected } from '../errors.js';
import {
  applyMetadataOffsets,
  HAM10000_SITES,
  hasMetadata,
  type LesionMetadata,
  type MetadataOffsets,
  OFFSET_WIDTH,
} from './metadata.js';
import {
  applyMetadataStacker,
  type MetadataStacker,
  stackerFromWeights,
  stackerWeights,
} from './metadata-stacker.js';

/** Fields every metadata branch reads (never dx_type). */
type MetadataField = 'age' | 'sex' | 'localization';

/**
 * The bundle's metadata branch (as `bundle.json` `metadata` declares it): linear class-logit offsets
 * (`logit-offsets`, weights [classes x OFFSET_WIDTH]) or the stacker (`mlp-offsets`, `hidden` units, weights
 * w1, b1, w2, b2 in one list).
 */
export type BundleMetadataBranch =
  | {
      readonly fields?: readonly MetadataField[];
      readonly sites: readonly string[];
      readonly fusion: 'logit-offsets';
      readonly weights: readonly number[];
    }
  | {
      readonly fields?: readonly MetadataField[];
      readonly sites: readonly string[];
      readonly fusion: 'mlp-offsets';
      readonly hidden: number;
      readonly weights: readonly number[];
    };

const ALL_FIELDS: MetadataField[] = ['age', 'sex', 'localization'];

/** The bundle's branch for fitted linear offsets ({@link fuseMetadata} applies it; `bundle.json` records it). */
export function metadataBranch(offsets: MetadataOffsets): {
  fields: MetadataField[];
  sites: string[];
  fusion: 'logit-offsets';
  weights: number[];
} {
  return {
    fields: [...ALL_FIELDS],
    sites: [...HAM10000_SITES],
    fusion: 'logit-offsets',
    weights: Array.from(offsets.weights),
  };
}

/** The bundle's branch for a fitted stacker ({@link fuseMetadata} applies it; `bundle.json` records it). */
export function stackerBranch(stacker: MetadataStacker): {
  fields: MetadataField[];
  sites: string[];
  fusion: 'mlp-offsets';
  hidden: number;
  weights: number[];
} {
  return {
    fields: [...ALL_FIELDS],
    sites: [...HAM10000_SITES],
    fusion: 'mlp-offsets',
    hidden: stacker.hidden,
    weights: stackerWeights(stacker),
  };
}

/**
 * Probabilities of the image model with the bundle's metadata branch added to their logits (log-probabilities;
 * softmax is unchanged by a per-row constant). Returns `probabilities` itself when `m` has no field.
 */
export function fuseMetadata(
  branch: BundleMetadataBranch,
  probabilities: Float32Array,
  m: LesionMetadata | undefined,
): Float32Array {
  if (!hasMetadata(m)) return probabilities;
  const logits = Array.from(probabilities, (p) => Math.log(Math.max(p, 1e-12)));
  return softmaxRow(branchModel(branch, probabilities.length)(logits, m));
}

/**
 * {@link fuseMetadata} over row-major `[rows, classes]` probabilities, `metadata[i]` belonging to row `i`: the
 * bundle's fusion of a whole scored set (rows without metadata stay as they are).
 */
export function fuseMetadataRows(
  branch: BundleMetadataBranch,
  probabilities: Float32Array,
  metadata: readonly (LesionMetadata | undefined)[],
  classes: number,
): Float32Array {
  const fused = new Float32Array(probabilities.length);
  metadata.forEach((m, i) => {
    fused.set(fuseMetadata(branch, probabilities.subarray(i * classes, (i + 1) * classes), m), i * classes);
  });
  return fused;
}

/** The softmax of one row of logits. */
export function softmaxRow(z: ArrayLike<number>): Float32Array {
  const max = Math.max(...Array.from(z));
  const e = Array.from(z, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return Float32Array.from(e, (v) => v / sum);
}

/** Logits plus a branch's offsets for one image with metadata. */
type BranchModel = (logits: ArrayLike<number>, m: LesionMetadata) => Float32Array;

/** Each bundle branch's weights read once (a server fuses every prediction through the same branch). */
const branchModels = new WeakMap<BundleMetadataBranch, { classes: number; model: BranchModel }>();

/** The branch as a function of the image logits, checked against `classes` and read once per branch. */
function branchModel(branch: BundleMetadataBranch, classes: number): BranchModel {
  const known = branchModels.get(branch);
  if (known?.classes === classes) return known.model;
  if (branch.sites.join() !== HAM10000_SITES.join()) {
    throw badBranch(`a branch over the sites ${branch.sites.join(', ')}`, classes);
  }
  let model: BranchModel;
  if (branch.fusion === 'mlp-offsets') {
    const stacker = stackerFromWeights(branch.weights, classes, branch.hidden);
    model = (logits, m) => applyMetadataStacker(stacker, logits, m);
  } else {
    if (branch.weights.length !== classes * OFFSET_WIDTH) {
      throw badBranch(`${branch.weights.length} offset weights`, classes);
    }
    const offsets = { classes, weights: Float32Array.from(branch.weights) };
    model = (logits, m) => applyMetadataOffsets(offsets, logits, m);
  }
  branchModels.set(branch, { classes, model });
  return model;
}

function badBranch(received: string, classes: number) {
  return expected({
    what: `a metadata branch for ${classes} classes over the HAM10000 sites`,
    where: 'the bundle metadata branch',
    received,
    fix: 're-export the bundle',
    code: 'E_MODEL_BUNDLE',
  });
}
