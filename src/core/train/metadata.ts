import { expected, shown } from '../errors.js';
import { at } from '../util/at.js';

/**
 * Lesion metadata the head may use: patient age (years), sex and the lesion's anatomical site. Any field may be
 * missing. HAM10000's `dx_type` (how the diagnosis was confirmed) is never read: it leaks the label.
 */
export interface LesionMetadata {
  readonly age?: number;
  readonly sex?: 'male' | 'female';
  readonly site?: string;
}

/** Anatomical sites of HAM10000 (`localization`, without `unknown`), in encoding order. */
export const HAM10000_SITES: readonly string[] = [
  'abdomen',
  'acral',
  'back',
  'chest',
  'ear',
  'face',
  'foot',
  'genital',
  'hand',
  'lower extremity',
  'neck',
  'scalp',
  'trunk',
  'upper extremity',
];

/**
 * Width of the encoded vector: site one-hot + site-missing, sex male/female + sex-missing, age/100 + age-missing.
 * A missing field is explicit (its flag 1, its values 0), never imputed.
 */
export const METADATA_WIDTH = HAM10000_SITES.length + 1 + 3 + 2;

/** Source columns read for metadata (`dx_type` deliberately absent). */
export const METADATA_COLUMNS = ['age', 'sex', 'localization'] as const;

/**
 * Metadata of one image from its source row (HAM10000 columns `age`, `sex`, `localization`); empty or `unknown`
 * values are missing. Throws `E_INPUT` for a site outside {@link HAM10000_SITES}. A dataset's rows are read
 * leniently (an unparsable age or sex is missing); `strict` (what a user types for one prediction: the HTTP
 * query, predict's metadata CSV) also refuses an age that is not a number from 0 to 120 and a sex other than
 * male, female or unknown, so that a typo never silently changes what a prediction rests on.
 */
export function parseLesionMetadata(
  row: Readonly<Record<string, string>> | undefined,
  options: { readonly strict?: boolean } = {},
): LesionMetadata {
  if (!row) return {};
  if (options.strict) checkAgeAndSex(row);
  const age = Number.parseFloat(row.age ?? '');
  const sex = (row.sex ?? '').trim().toLowerCase();
  const site = (row.localization ?? row.site ?? '').trim().toLowerCase();
  if (site !== '' && site !== 'unknown' && !HAM10000_SITES.includes(site)) {
    throw expected({
      what: `a known site (${HAM10000_SITES.join(', ')})`,
      where: 'the metadata localization',
      received: shown(site),
      fix: 'use one of them or leave it empty',
      code: 'E_INPUT',
    });
  }
  return {
    ...(Number.isFinite(age) && age >= 0 && age <= 120 ? { age } : {}),
    ...(sex === 'male' || sex === 'female' ? { sex } : {}),
    ...(site !== '' && site !== 'unknown' ? { site } : {}),
  };
}

const MISSING = ['', 'unknown'];

function checkAgeAndSex(row: Readonly<Record<string, string>>): void {
  const age = (row.age ?? '').trim().toLowerCase();
  const years = Number(age);
  if (!MISSING.includes(age) && !(/^\d+(\.\d+)?$/.test(age) && years <= 120)) {
    throw expected({
      what: 'an age in years from 0 to 120',
      where: 'the metadata age',
      received: shown(row.age),
      fix: 'give a number such as 45, or leave it out',
      code: 'E_INPUT',
    });
  }
  const sex = (row.sex ?? '').trim().toLowerCase();
  if (!MISSING.includes(sex) && sex !== 'male' && sex !== 'female') {
    throw expected({
      what: 'male, female or unknown',
      where: 'the metadata sex',
      received: shown(row.sex),
      fix: 'use one of them or leave it out',
      code: 'E_INPUT',
    });
  }
}

/** Encodes metadata as {@link METADATA_WIDTH} floats (see there); `{}` encodes "all metadata absent". */
export function encodeMetadata(m: LesionMetadata): Float32Array {
  const out = new Float32Array(METADATA_WIDTH);
  const s = HAM10000_SITES.length;
  const site = m.site === undefined ? -1 : HAM10000_SITES.indexOf(m.site);
  out[site >= 0 ? site : s] = 1;
  out[m.sex === 'male' ? s + 1 : m.sex === 'female' ? s + 2 : s + 3] = 1;
  if (m.age === undefined) out[s + 5] = 1;
  else out[s + 4] = m.age / 100;
  return out;
}

/** How often metadata is hidden in training, so the head learns to work with a field or all of it missing. */
export interface MetadataDropout {
  /** Probability that all metadata of an image is hidden. */
  readonly all: number;
  /** Probability that each remaining field is hidden on its own. */
  readonly field: number;
}

/** `m` with fields hidden at random per `dropout` (draws from `rng`: one for all, one per field). */
export function dropMetadata(m: LesionMetadata, dropout: MetadataDropout, rng: () => number): LesionMetadata {
  const all = rng() < dropout.all;
  const keep = [rng() >= dropout.field, rng() >= dropout.field, rng() >= dropout.field];
  if (all) return {};
  return {
    ...(keep[0] && m.age !== undefined ? { age: m.age } : {}),
    ...(keep[1] && m.sex !== undefined ? { sex: m.sex } : {}),
    ...(keep[2] && m.site !== undefined ? { site: m.site } : {}),
  };
}

/**
 * Width of the late-fusion encoding: site one-hot, male, female, (age − 50)/100; a missing field is all zeros,
 * so no metadata at all contributes exactly nothing.
 */
export const OFFSET_WIDTH = HAM10000_SITES.length + 3;

/** Late-fusion encoding of {@link MetadataOffsets}: zeros for every missing field. */
export function encodeOffsetInputs(m: LesionMetadata): Float32Array {
  const out = new Float32Array(OFFSET_WIDTH);
  const s = HAM10000_SITES.length;
  const site = m.site === undefined ? -1 : HAM10000_SITES.indexOf(m.site);
  if (site >= 0) out[site] = 1;
  if (m.sex === 'male') out[s] = 1;
  if (m.sex === 'female') out[s + 1] = 1;
  if (m.age !== undefined) out[s + 2] = (m.age - 50) / 100;
  return out;
}

/** Options of {@link fitMetadataOffsets}. */
export interface MetadataOffsetsOptions {
  /** L2 penalty on the weights (mean loss + l2·|W|²). */
  readonly l2: number;
  readonly iterations?: number;
  readonly learningRate?: number;
  /**
   * Weigh each image by n / (classes · its class count), i.e. fit for balanced accuracy (default true): with
   * plain weights the site one-hot acts as a bias that re-learns the class prior and favours the majority class.
   */
  readonly balanced?: boolean;
}

/**
 * The metadata branch as late fusion: class-logit offsets `W·enc(m)` (no bias) added to the image model's
 * logits. With no metadata the offsets are exactly zero, so the model without metadata IS the image model; each
 * present field adds its own term. `weights` is [classes][OFFSET_WIDTH], row-major.
 */
export interface MetadataOffsets {
  readonly classes: number;
  readonly weights: Float32Array;
}

/** Logits plus the metadata offsets of `m` (a new array). */
export function applyMetadataOffsets(
  offsets: MetadataOffsets,
  logits: ArrayLike<number>,
  m: LesionMetadata,
): Float32Array {
  const x = encodeOffsetInputs(m);
  const out = Float32Array.from(logits);
  // Hot loop (every image of every fitting step): weights has classes x OFFSET_WIDTH entries, x OFFSET_WIDTH
  // and out one per class.
  for (let c = 0; c < offsets.classes; c++) {
    let z = 0;
    for (let j = 0; j < OFFSET_WIDTH; j++) z += offsets.weights[c * OFFSET_WIDTH + j]! * x[j]!;
    out[c] = out[c]! + z;
  }
  return out;
}

/**
 * Fits {@link MetadataOffsets} by full-batch gradient descent on the (class-balanced, by default) softmax
 * cross-entropy of `logits[i] + W·enc(metadata[i])` against `labels` (the image model's logits held fixed), with
 * L2 on W.
 */
export function fitMetadataOffsets(
  logits: readonly ArrayLike<number>[],
  metadata: readonly LesionMetadata[],
  labels: ArrayLike<number>,
  classes: number,
  options: MetadataOffsetsOptions,
): MetadataOffsets {
  const n = logits.length;
  const inputs = metadata.map(encodeOffsetInputs);
  const weights = new Float32Array(classes * OFFSET_WIDTH);
  const lr = options.learningRate ?? 0.5;
  const grad = new Float64Array(weights.length);
  const images = offsetTrainingImages(logits, inputs, labels, classes, options.balanced !== false);
  for (let it = 0; it < (options.iterations ?? 300); it++) {
    grad.fill(0);
    for (const image of images) {
      const p = softmax(
        applyMetadataOffsets({ classes, weights }, image.logits, {}),
        image.x,
        weights,
        classes,
      );
      // Hot loop: p has `classes` entries, x OFFSET_WIDTH and grad classes x OFFSET_WIDTH.
      for (let c = 0; c < classes; c++) {
        const g = (p[c]! - (image.label === c ? 1 : 0)) * image.weight;
        for (let j = 0; j < OFFSET_WIDTH; j++) {
          const k = c * OFFSET_WIDTH + j;
          grad[k] = grad[k]! + (g * image.x[j]!) / n;
        }
      }
    }
    // grad and weights have the same length
    for (let w = 0; w < weights.length; w++)
      weights[w] = weights[w]! - lr * (grad[w]! + 2 * options.l2 * weights[w]!);
  }
  return { classes, weights };
}

/** One image of {@link fitMetadataOffsets}: its fixed logits, offset inputs, class and loss weight. */
interface OffsetTrainingImage {
  readonly logits: ArrayLike<number>;
  readonly x: Float32Array;
  readonly label: number;
  readonly weight: number;
}

/** The images with their loss weights: {@link balancedImageWeights} when `balanced`, else 1. */
function offsetTrainingImages(
  logits: readonly ArrayLike<number>[],
  inputs: readonly Float32Array[],
  labels: ArrayLike<number>,
  classes: number,
  balanced: boolean,
): OffsetTrainingImage[] {
  const weights = balanced ? balancedImageWeights(labels, classes) : undefined;
  return logits.map((row, i) => ({
    logits: row,
    x: at(inputs, i),
    label: at(labels, i),
    weight: weights ? at(weights, i) : 1,
  }));
}

/**
 * Each image's class-balancing loss weight, n / (classes · its class count): every class weighs the same in
 * total, so a fit on these images aims at balanced accuracy.
 */
export function balancedImageWeights(labels: ArrayLike<number>, classes: number): Float64Array {
  const n = labels.length;
  const counts = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    const label = at(labels, i);
    counts[label] = at(counts, label) + 1;
  }
  return Float64Array.from({ length: n }, (_, i) => n / (classes * Math.max(1, at(counts, at(labels, i)))));
}

function softmax(base: Float32Array, x: Float32Array, weights: Float32Array, classes: number): Float64Array {
  const z = new Float64Array(classes);
  let max = Number.NEGATIVE_INFINITY;
  // Hot loops: base and z have `classes` entries, x OFFSET_WIDTH and weights classes x OFFSET_WIDTH.
  for (let c = 0; c < classes; c++) {
    let v = base[c]!;
    for (let j = 0; j < OFFSET_WIDTH; j++) v += weights[c * OFFSET_WIDTH + j]! * x[j]!;
    z[c] = v;
    max = Math.max(max, v);
  }
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const e = Math.exp(z[c]! - max);
    z[c] = e;
    sum += e;
  }
  for (let c = 0; c < classes; c++) z[c] = z[c]! / sum;
  return z;
}

/** Row-major probabilities [n x classes] as one row of log-probabilities (floored at 1e-12) per image. */
export function logProbabilityRows(probabilities: Float32Array, classes: number): Float32Array[] {
  return Array.from({ length: probabilities.length / classes }, (_, i) =>
    Float32Array.from(probabilities.subarray(i * classes, (i + 1) * classes), (p) =>
      Math.log(Math.max(p, 1e-12)),
    ),
  );
}

/** True when `m` has at least one field. */
export function hasMetadata(m: LesionMetadata | undefined): m is LesionMetadata {
  return m !== undefined && (m.age !== undefined || m.sex !== undefined || m.site !== undefined);
}
