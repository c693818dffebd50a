import { expected } from '../errors.js';
import { at } from '../util/at.js';
import {
  balancedImageWeights,
  encodeOffsetInputs,
  hasMetadata,
  type LesionMetadata,
  OFFSET_WIDTH,
} from './metadata.js';
import { Prng } from './prng.js';

/**
 * The metadata branch as a small stacker: a one-hidden-layer ReLU network reads the late-fusion encoding of the
 * metadata (site one-hot, male, female, age), an age-present flag and the image model's log-probabilities, and
 * adds its output to the image logits. Unlike the linear offsets it can weigh metadata by what the image says
 * (site and age matter most where the image model hesitates). Gated: an image without any metadata field gets no
 * offset, so the model without metadata IS the image model.
 */
export interface MetadataStacker {
  readonly classes: number;
  readonly hidden: number;
  /** [hidden x stackerInputWidth(classes)], row-major */
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  /** [classes x hidden], row-major */
  readonly w2: Float32Array;
  readonly b2: Float32Array;
}

/** Log-probabilities enter clamped at this floor and divided by its magnitude's half (about unit scale). */
const LOGIT_FLOOR = -10;
const LOGIT_SCALE = 5;

/** Input width: the offsets encoding, an age-present flag, one log-probability per class. */
export function stackerInputWidth(classes: number): number {
  return OFFSET_WIDTH + 1 + classes;
}

/** The stacker's input for one image: metadata encoding, age-present flag, clamped and scaled log-probabilities. */
export function stackerInput(m: LesionMetadata, logits: ArrayLike<number>): Float64Array {
  const x = new Float64Array(stackerInputWidth(logits.length));
  x.set(encodeOffsetInputs(m));
  if (m.age !== undefined) x[OFFSET_WIDTH] = 1;
  for (let c = 0; c < logits.length; c++) {
    x[OFFSET_WIDTH + 1 + c] = Math.max(at(logits, c), LOGIT_FLOOR) / LOGIT_SCALE;
  }
  return x;
}

/** The stacker's output for one input (no gate): `classes` logit offsets; `h` is scratch of `hidden` values. */
function forward(s: MetadataStacker, x: Float64Array, h: Float64Array, out: Float64Array): void {
  const width = x.length;
  // Hot loops: w1 is hidden x width, w2 classes x hidden; h holds hidden values and out classes.
  for (let a = 0; a < s.hidden; a++) {
    let v = s.b1[a]!;
    for (let j = 0; j < width; j++) v += s.w1[a * width + j]! * x[j]!;
    h[a] = Math.max(v, 0);
  }
  for (let c = 0; c < s.classes; c++) {
    let v = s.b2[c]!;
    for (let a = 0; a < s.hidden; a++) v += s.w2[c * s.hidden + a]! * h[a]!;
    out[c] = v;
  }
}

/**
 * The stacker's logit offsets for `logits` (the image model's log-probabilities) and `m`, whatever metadata `m`
 * has (no gate: a stacker fitted with `gate: false` recalibrates images without metadata too).
 */
export function stackerOffsets(
  s: MetadataStacker,
  logits: ArrayLike<number>,
  m: LesionMetadata,
): Float64Array {
  const out = new Float64Array(s.classes);
  forward(s, stackerInput(m, logits), new Float64Array(s.hidden), out);
  return out;
}

/** Logits plus the stacker's offsets when `m` has a field; a copy of `logits` otherwise. */
export function applyMetadataStacker(
  s: MetadataStacker,
  logits: ArrayLike<number>,
  m: LesionMetadata | undefined,
): Float32Array {
  const out = Float32Array.from(logits);
  if (!hasMetadata(m)) return out;
  const offsets = stackerOffsets(s, logits, m);
  for (let c = 0; c < s.classes; c++) out[c] = out[c]! + offsets[c]!;
  return out;
}

/** Options of {@link fitMetadataStacker}; defaults chosen on validation by bench:metadata. */
export interface MetadataStackerOptions {
  /** Hidden ReLU units (default 16). */
  readonly hidden?: number;
  /** L2 penalty on both weight matrices (mean loss + l2·|W|², default 1e-3). */
  readonly l2?: number;
  /** Full-batch Adam steps (default 300). */
  readonly iterations?: number;
  readonly learningRate?: number;
  readonly seed?: number;
  /**
   * Each training image also appears once more with each field hidden with this probability (default 0.25), so
   * the stacker works when a field is missing.
   */
  readonly fieldDropout?: number;
  /** Offsets only for images with metadata (default true); false fits a recalibration of every image. */
  readonly gate?: boolean;
}

/** One training row: input, gate, label and class-balancing weight. */
interface Row {
  readonly x: Float64Array;
  readonly logits: ArrayLike<number>;
  readonly open: boolean;
  readonly label: number;
  readonly weight: number;
}

/**
 * Fits a {@link MetadataStacker} by full-batch Adam on the class-balanced softmax cross-entropy of
 * `logits[i] + stacker(metadata[i], logits[i])` against `labels` (the image logits held fixed; fit them
 * out-of-fold so the stacker does not learn an image model that has already fitted these images), L2 on the weights.
 */
export function fitMetadataStacker(
  logits: readonly ArrayLike<number>[],
  metadata: readonly LesionMetadata[],
  labels: ArrayLike<number>,
  classes: number,
  options: MetadataStackerOptions = {},
): MetadataStacker {
  if (logits.length !== metadata.length || logits.length !== labels.length || logits.length === 0) {
    throw expected({
      what: 'one row of logits, metadata and label per training image (at least one)',
      where: 'fitMetadataStacker',
      received: `${logits.length} logits, ${metadata.length} metadata rows and ${labels.length} labels`,
      fix: 'pass the training split in one order',
      code: 'E_INPUT',
    });
  }
  const hidden = options.hidden ?? 16;
  const l2 = options.l2 ?? 1e-3;
  const rng = new Prng(options.seed ?? 1);
  const rows = trainingRows(logits, metadata, labels, classes, options, rng);
  const width = stackerInputWidth(classes);
  const s: MetadataStacker = {
    classes,
    hidden,
    w1: Float32Array.from({ length: hidden * width }, () => (rng.next() * 2 - 1) * Math.sqrt(3 / width)),
    b1: new Float32Array(hidden),
    w2: new Float32Array(classes * hidden),
    b2: new Float32Array(classes),
  };
  const params = [s.w1, s.b1, s.w2, s.b2];
  const decayed = [true, false, true, false];
  const adam = params.map((p) => ({ m: new Float64Array(p.length), v: new Float64Array(p.length) }));
  const grads = params.map((p) => new Float64Array(p.length));
  const lr = options.learningRate ?? 0.01;
  const h = new Float64Array(hidden);
  const z = new Float64Array(classes);
  const gh = new Float64Array(hidden);
  for (let step = 1; step <= (options.iterations ?? 300); step++) {
    for (const g of grads) g.fill(0);
    for (const row of rows) {
      if (!row.open) continue;
      accumulate(s, row, h, z, gh, grads, rows.length);
    }
    params.forEach((p, i) => {
      const g = at(grads, i);
      const { m, v } = at(adam, i);
      // Hot loop: p, g, m and v have the same length.
      for (let q = 0; q < p.length; q++) {
        const gq = g[q]! + (decayed[i] ? 2 * l2 * p[q]! : 0);
        m[q] = 0.9 * m[q]! + 0.1 * gq;
        v[q] = 0.999 * v[q]! + 0.001 * gq * gq;
        p[q] = p[q]! - (lr * (m[q]! / (1 - 0.9 ** step))) / (Math.sqrt(v[q]! / (1 - 0.999 ** step)) + 1e-8);
      }
    });
  }
  return s;
}

/** Adds one row's loss gradient (divided by `n`) to `grads` ([w1, b1, w2, b2]); h, z, gh are scratch. */
function accumulate(
  s: MetadataStacker,
  row: Row,
  h: Float64Array,
  z: Float64Array,
  gh: Float64Array,
  grads: Float64Array[],
  n: number,
): void {
  const [gw1, gb1, gw2, gb2] = grads as [Float64Array, Float64Array, Float64Array, Float64Array];
  const { x } = row;
  const width = x.length;
  forward(s, x, h, z);
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < s.classes; c++) {
    z[c] = z[c]! + at(row.logits, c);
    max = Math.max(max, z[c]!);
  }
  let sum = 0;
  for (let c = 0; c < s.classes; c++) {
    z[c] = Math.exp(z[c]! - max);
    sum += z[c]!;
  }
  gh.fill(0);
  // Hot loops: z has classes entries, h and gh hidden, x width; w2/gw2 classes x hidden, gw1 hidden x width.
  for (let c = 0; c < s.classes; c++) {
    const g = ((z[c]! / sum - (row.label === c ? 1 : 0)) * row.weight) / n;
    gb2[c] = gb2[c]! + g;
    for (let a = 0; a < s.hidden; a++) {
      gw2[c * s.hidden + a] = gw2[c * s.hidden + a]! + g * h[a]!;
      gh[a] = gh[a]! + g * s.w2[c * s.hidden + a]!;
    }
  }
  for (let a = 0; a < s.hidden; a++) {
    if (h[a]! <= 0) continue;
    gb1[a] = gb1[a]! + gh[a]!;
    for (let j = 0; j < width; j++) gw1[a * width + j] = gw1[a * width + j]! + gh[a]! * x[j]!;
  }
}

/** The training rows: every image as it is, then once more with fields hidden; class-balancing weights. */
function trainingRows(
  logits: readonly ArrayLike<number>[],
  metadata: readonly LesionMetadata[],
  labels: ArrayLike<number>,
  classes: number,
  options: MetadataStackerOptions,
  rng: Prng,
): Row[] {
  const weights = balancedImageWeights(labels, classes);
  const gate = options.gate !== false;
  const p = options.fieldDropout ?? 0.25;
  const hide = (m: LesionMetadata): LesionMetadata => {
    const [age, sex, site] = [rng.next() >= p, rng.next() >= p, rng.next() >= p];
    return {
      ...(age && m.age !== undefined ? { age: m.age } : {}),
      ...(sex && m.sex !== undefined ? { sex: m.sex } : {}),
      ...(site && m.site !== undefined ? { site: m.site } : {}),
    };
  };
  const versions = p > 0 ? [metadata, metadata.map(hide)] : [metadata];
  return versions.flatMap((ms) =>
    ms.map((m, i) => {
      const label = at(labels, i);
      const row = at(logits, i);
      return {
        x: stackerInput(m, row),
        logits: row,
        open: !gate || hasMetadata(m),
        label,
        weight: at(weights, i),
      };
    }),
  );
}

/** The stacker's parameters as one list (w1, b1, w2, b2), as `bundle.json` records them. */
export function stackerWeights(s: MetadataStacker): number[] {
  return [...s.w1, ...s.b1, ...s.w2, ...s.b2];
}

/** A stacker from {@link stackerWeights}'s list; throws `E_MODEL_BUNDLE` when its length does not fit. */
export function stackerFromWeights(
  weights: readonly number[],
  classes: number,
  hidden: number,
): MetadataStacker {
  const width = stackerInputWidth(classes);
  const sizes = [hidden * width, hidden, classes * hidden, classes];
  const total = sizes.reduce((a, b) => a + b, 0);
  if (weights.length !== total) {
    throw expected({
      what: `${total} stacker weights (${hidden} hidden units, ${classes} classes)`,
      where: 'the bundle metadata branch',
      received: `${weights.length}`,
      fix: 're-export the bundle',
      code: 'E_MODEL_BUNDLE',
    });
  }
  const parts: Float32Array[] = [];
  let from = 0;
  for (const size of sizes) {
    parts.push(Float32Array.from(weights.slice(from, from + size)));
    from += size;
  }
  const [w1, b1, w2, b2] = parts as [Float32Array, Float32Array, Float32Array, Float32Array];
  return { classes, hidden, w1, b1, w2, b2 };
}
