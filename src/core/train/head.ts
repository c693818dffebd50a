import * as tf from '@tensorflow/tfjs';
import { expected, shown } from '../errors.js';
import { keepFrozenBatchNormInInference } from '../models/freeze.js';
import { at } from '../util/at.js';
import type { WeightSnapshot } from './callbacks.js';
import type { Prng } from './prng.js';

/**
 * Names of the head's layers in every classifier graph ({@link buildTrainedClassifier}, {@link buildClassifier}):
 * the logits stay reachable as layer `head_logits`.
 */
export const HEAD_LAYERS = {
  pool: 'head_pool',
  dropout: 'head_dropout',
  logits: 'head_logits',
  softmax: 'head_softmax',
} as const;

/** Shape of a classification head on pooled features. */
export interface HeadSpec {
  readonly inputWidth: number;
  /** Hidden ReLU units; 0 = linear probe. */
  readonly hidden: number;
  readonly numClasses: number;
  readonly dropout: number;
}

/** How the backbone's feature map is pooled into the head's input. */
export type Pooling = 'avg' | 'avg+max';

/** A fixed input standardisation `(x - mean) / std` per feature (training-split statistics). */
export interface Standardization {
  readonly mean: Float32Array;
  readonly std: Float32Array;
}

/**
 * Floor of a feature's standard deviation, as a fraction of the median one ({@link floorStandardization}).
 * With an absolute floor (1e-3) a feature that barely varies in the head stage gets up to 1000x the gain of a
 * typical one; once fine-tuning moves it, the logits explode. At 0.5 no feature's gain exceeds twice the
 * median feature's (a tiny-model case still diverged at 0.1, see test/integration/train-finetune.test.ts).
 */
export const STD_FLOOR_FRACTION = 0.5;

/**
 * The same statistics with every std floored at `fraction` × the median std (and at 1e-6, for all-constant
 * features), so standardisation never amplifies near-constant features beyond `1 / fraction` of a typical one.
 */
export function floorStandardization(stats: Standardization, fraction = STD_FLOOR_FRACTION): Standardization {
  const sorted = Float64Array.from(stats.std).sort();
  const mid = sorted.length >> 1;
  const median =
    sorted.length === 0
      ? 0
      : sorted.length % 2
        ? at(sorted, mid)
        : (at(sorted, mid - 1) + at(sorted, mid)) / 2;
  const floor = Math.max(1e-6, fraction * median);
  return { mean: stats.mean, std: Float32Array.from(stats.std, (s) => Math.max(s, floor)) };
}

/** A trainable variable with a stable name (for snapshots and checkpoints). */
export interface NamedVariable {
  readonly name: string;
  readonly variable: tf.Variable;
}

/**
 * The classification head as explicit variables: dropout → dense(hidden, relu) → dropout → dense(classes),
 * returning logits. Dropout masks come from the trainer's seeded PRNG, so training is reproducible; the same
 * weights are copied into ordinary TF.js layers (ending in softmax) for the exported model.
 */
export class Head {
  readonly variables: NamedVariable[];
  /** The dense layers in order, each with its kernel [in, out] and bias [out] (the same variables). */
  private readonly dense: readonly DenseVariables[];
  private standardization?: {
    readonly stats: Standardization;
    readonly mean: tf.Tensor1D;
    readonly std: tf.Tensor1D;
  };

  private constructor(
    readonly spec: HeadSpec,
    dense: readonly DenseVariables[],
  ) {
    this.dense = dense;
    this.variables = dense.flatMap(({ kernel, bias }, i) => [
      { name: `dense_${i}/kernel`, variable: kernel },
      { name: `dense_${i}/bias`, variable: bias },
    ]);
  }

  /** A head with Glorot-uniform kernels drawn from `rng` and zero biases. */
  static create(spec: HeadSpec, rng: Prng): Head {
    const fanOuts = spec.hidden > 0 ? [spec.hidden, spec.numClasses] : [spec.numClasses];
    const dense: DenseVariables[] = [];
    let fanIn = spec.inputWidth;
    for (const fanOut of fanOuts) {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const values = rng.uniform(fanIn * fanOut, -limit, limit);
      const kernel = tf.tidy(() => tf.variable(tf.tensor2d(values, [fanIn, fanOut]), true));
      const bias = tf.tidy(() => tf.variable(tf.zeros([fanOut]), true));
      dense.push({ kernel, bias });
      fanIn = fanOut;
    }
    return new Head(spec, dense);
  }

  /**
   * Standardises the head's input as a fixed, non-trainable first step `(x - mean) / std`: the head then takes
   * raw pooled features in training (both stages of fine-tuning) and scoring, and {@link applyLayers} folds the
   * step into the first dense layer of the exported model. E_CONFIG when the widths differ from the input's.
   */
  standardizeInputs(stats: Standardization): void {
    const width = this.spec.inputWidth;
    if (stats.mean.length !== width || stats.std.length !== width)
      throw expected({
        what: `a mean and std of ${width} features each (the head's input width)`,
        where: 'the head standardisation',
        received: `a mean/std of ${stats.mean.length}/${stats.std.length}`,
        fix: 'compute them on the same features',
        code: 'E_CONFIG',
      });
    this.disposeStandardization();
    this.standardization = { stats, mean: tf.tensor1d(stats.mean), std: tf.tensor1d(stats.std) };
  }

  /** The fixed input standardisation, if any. */
  get inputStandardization(): Standardization | undefined {
    return this.standardization?.stats;
  }

  /** Dropout masks (already scaled by 1/(1-p)) for a batch, or [] when dropout is off. */
  dropoutMasks(batch: number, rng: Prng): tf.Tensor2D[] {
    const p = this.spec.dropout;
    if (p <= 0) return [];
    const widths = this.spec.hidden > 0 ? [this.spec.inputWidth, this.spec.hidden] : [this.spec.inputWidth];
    return widths.map((width) => {
      const values = rng.uniform(batch * width, 0, 1).map((u) => (u >= p ? 1 / (1 - p) : 0));
      return tf.tensor2d(values, [batch, width]);
    });
  }

  /** Logits [n, classes] of pooled features [n, inputWidth]; pass masks only in training. */
  logits(features: tf.Tensor2D, masks: readonly tf.Tensor2D[] = []): tf.Tensor2D {
    return tf.tidy(() => {
      const z = this.standardization;
      let x: tf.Tensor2D = z ? features.sub(z.mean).div(z.std) : features;
      this.dense.forEach(({ kernel, bias }, i) => {
        const mask = masks[i];
        if (mask) x = x.mul(mask);
        x = tf.matMul(x, kernel as tf.Tensor2D).add(bias);
        if (i + 1 < this.dense.length) x = tf.relu(x);
      });
      return x;
    });
  }

  /**
   * Appends the head as TF.js layers to a pooled-feature tensor, ending in softmax. `logitOffset` is added to
   * the last bias (post-hoc logit adjustment folded into the model).
   */
  applyLayers(input: tf.SymbolicTensor, logitOffset?: Float32Array): tf.SymbolicTensor {
    let x = input;
    this.dense.forEach((variables, i) => {
      const last = i + 1 === this.dense.length;
      const units = at(variables.bias.shape, 0);
      const name = last ? HEAD_LAYERS.logits : `head_hidden_${i}`;
      const dense = tf.layers.dense({ units, activation: last ? 'linear' : 'relu', name });
      x = dense.apply(x) as tf.SymbolicTensor;
      tf.tidy(() => {
        const stats = i === 0 ? this.standardization?.stats : undefined;
        let [kernel, bias]: [tf.Tensor, tf.Tensor] = stats
          ? foldStandardization(variables, stats)
          : [variables.kernel, variables.bias];
        if (last && logitOffset) bias = bias.add(tf.tensor1d(logitOffset));
        dense.setWeights([kernel, bias]);
      });
    });
    return softmaxLayer(x);
  }

  /**
   * One linear head whose logits are the mean of `heads`' logits, each head's input standardisation folded in
   * (a logit ensemble of heads on the same features, as a single dense layer: exports like any head). E_CONFIG
   * unless every head is linear with the same input width and classes.
   */
  static averageOf(heads: readonly Head[]): Head {
    const first = at(heads, 0);
    const { inputWidth, numClasses } = first.spec;
    const odd = heads.find(
      (h) => h.spec.hidden > 0 || h.spec.inputWidth !== inputWidth || h.spec.numClasses !== numClasses,
    );
    if (odd)
      throw expected({
        what: `linear heads on ${inputWidth} features with ${numClasses} classes`,
        where: 'the head average',
        received: `a head with ${odd.spec.hidden} hidden units on ${odd.spec.inputWidth} features, ${odd.spec.numClasses} classes`,
        fix: 'average only linear heads (hidden 0) fitted on the same features and classes',
        code: 'E_CONFIG',
      });
    const kernel = new Float64Array(inputWidth * numClasses);
    const bias = new Float64Array(numClasses);
    for (const head of heads) {
      const folded = foldedWeights(at(head.dense, 0), head.standardization?.stats);
      for (const [i, w] of folded.kernel.entries()) kernel[i] = kernel[i]! + w / heads.length;
      for (const [u, b] of folded.bias.entries()) bias[u] = bias[u]! + b / heads.length;
    }
    const dense = tf.tidy(() => ({
      kernel: tf.variable(tf.tensor2d(Float32Array.from(kernel), [inputWidth, numClasses]), true),
      bias: tf.variable(tf.tensor1d(Float32Array.from(bias)), true),
    }));
    return new Head({ ...first.spec, hidden: 0 }, [dense]);
  }

  snapshot(): WeightSnapshot {
    return snapshotVariables(this.variables);
  }

  /**
   * Folds an input standardisation `(x - mean) / std` into the first dense layer, so a head trained on
   * standardised features takes raw pooled features: W' = W / std (per input row), b' = b - (mean / std)·W.
   */
  foldInputStandardization(mean: Float32Array, std: Float32Array): void {
    tf.tidy(() => {
      const { kernel, bias } = at(this.dense, 0);
      const scale = tf.tensor2d(std, [std.length, 1]);
      const shifted = tf.matMul(
        tf.tensor2d(mean, [1, mean.length]).div(scale.reshape([1, -1])),
        kernel as tf.Tensor2D,
      );
      bias.assign(bias.sub(shifted.reshape([-1])));
      kernel.assign(kernel.div(scale));
    });
  }

  dispose(): void {
    for (const { variable } of this.variables) variable.dispose();
    this.disposeStandardization();
  }

  private disposeStandardization(): void {
    if (!this.standardization) return;
    tf.dispose([this.standardization.mean, this.standardization.std]);
    this.standardization = undefined;
  }
}

/** One dense layer of a {@link Head}: kernel [in, out] and bias [out]. */
interface DenseVariables {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
}

/**
 * A dense layer with the input standardisation folded in, in float64 before rounding to float32:
 * W' = W / std (per input row), b' = b - (mean / std)·W. Equal to standardise-then-dense up to rounding.
 */
function foldStandardization(dense: DenseVariables, stats: Standardization): [tf.Tensor2D, tf.Tensor1D] {
  const { kernel, bias } = foldedWeights(dense, stats);
  return [
    tf.tensor2d(Float32Array.from(kernel), [stats.mean.length, bias.length]),
    tf.tensor1d(Float32Array.from(bias)),
  ];
}

/** A dense layer's kernel [in, out] (row-major) and bias in float64, with `stats` folded in when given. */
function foldedWeights(
  dense: DenseVariables,
  stats: Standardization | undefined,
): { kernel: Float64Array; bias: Float64Array } {
  const kernel = Float64Array.from(dense.kernel.dataSync());
  const bias = Float64Array.from(dense.bias.dataSync());
  if (!stats) return { kernel, bias };
  const units = bias.length;
  for (const [d, m] of stats.mean.entries()) {
    const s = at(stats.std, d);
    // Per-weight loop: kernel is [mean.length, units] and bias has `units` entries.
    for (let u = 0; u < units; u++) {
      const w = kernel[d * units + u]! / s;
      kernel[d * units + u] = w;
      bias[u] = bias[u]! - m * w;
    }
  }
  return { kernel, bias };
}

/** Copies variables' values into plain arrays. */
export function snapshotVariables(variables: readonly NamedVariable[]): WeightSnapshot {
  return variables.map(({ name, variable }) => ({
    name,
    shape: [...variable.shape],
    values: Float32Array.from(variable.dataSync()),
  }));
}

/** Assigns a snapshot back to variables, matching by name; throws on a missing name or shape mismatch. */
export function restoreVariables(variables: readonly NamedVariable[], snapshot: WeightSnapshot): void {
  const byName = new Map(snapshot.map((entry) => [entry.name, entry]));
  tf.tidy(() => {
    for (const { name, variable } of variables) {
      const entry = byName.get(name);
      if (!entry || entry.values.length !== variable.size) {
        throw new Error(`weight snapshot: ${name} missing or of the wrong size (want ${variable.shape})`);
      }
      variable.assign(tf.tensor(entry.values, variable.shape));
    }
  });
}

/**
 * Where the head's features come from: `pooling` of the backbone's output, after global average pools of
 * earlier layers (`taps`, multi-scale features), all concatenated in that order.
 */
export interface FeatureSource {
  readonly pooling: Pooling;
  /** Names of earlier backbone layers (4-D outputs) whose global averages are prepended; [] = none. */
  readonly taps: readonly string[];
}

/**
 * The feature maps the head pools, as symbolic tensors of `backbone`: each tap's output, then the
 * backbone's output. Throws E_CONFIG naming the layer when a tap is missing or not a feature map.
 */
export function featureMaps(backbone: tf.LayersModel, taps: readonly string[]): tf.SymbolicTensor[] {
  const maps = taps.map((name) => {
    const layer = backbone.layers.find((l) => l.name === name);
    const output = layer?.output;
    if (!layer || Array.isArray(output) || output?.shape.length !== 4) {
      const maps4d = backbone.layers.filter((l) => !Array.isArray(l.output) && l.output.shape.length === 4);
      const activations = maps4d.filter((l) => /relu|activation|act$/i.test(l.name));
      const candidates = (activations.length > 0 ? activations : maps4d).map((l) => l.name);
      const sample = candidates.slice(-8).join(', ');
      throw expected({
        what: `a feature-map layer of the backbone "${backbone.name}"`,
        where: 'model.taps',
        received: shown(name),
        fix: `use layer names such as ${sample}`,
        code: 'E_CONFIG',
      });
    }
    return output as tf.SymbolicTensor;
  });
  return [...maps, at(backbone.outputs, 0)];
}

/**
 * Pools feature maps [n, h, w, c] into one [n, width] matrix: taps by global average, the last map (the
 * backbone's output) by `pooling` (avg → c, avg+max → 2c), concatenated in order.
 */
export function poolFeatures(maps: tf.Tensor4D | readonly tf.Tensor4D[], pooling: Pooling): tf.Tensor2D {
  return tf.tidy(() => {
    const all = Array.isArray(maps) ? maps : [maps as tf.Tensor4D];
    const last = at(all, all.length - 1);
    const parts = all.slice(0, -1).map((m) => tf.mean(m, [1, 2]) as tf.Tensor2D);
    parts.push(tf.mean(last, [1, 2]) as tf.Tensor2D);
    if (pooling === 'avg+max') parts.push(tf.max(last, [1, 2]) as tf.Tensor2D);
    return parts.length === 1 ? at(parts, 0) : tf.concat(parts, 1);
  });
}

/** The same pooling as TF.js layers, applied to `backbone`'s feature maps (for exported models). */
function applyPoolingLayers(backbone: tf.LayersModel, source: FeatureSource): tf.SymbolicTensor {
  const maps = featureMaps(backbone, source.taps);
  const last = at(maps, maps.length - 1);
  const parts = maps
    .slice(0, -1)
    .map(
      (m, i) =>
        tf.layers.globalAveragePooling2d({ name: `head_tap_pool_${i}` }).apply(m) as tf.SymbolicTensor,
    );
  parts.push(tf.layers.globalAveragePooling2d({ name: HEAD_LAYERS.pool }).apply(last) as tf.SymbolicTensor);
  if (source.pooling === 'avg+max') {
    parts.push(tf.layers.globalMaxPooling2d({ name: 'head_max_pool' }).apply(last) as tf.SymbolicTensor);
  }
  if (parts.length === 1) return at(parts, 0);
  return tf.layers.concatenate({ name: 'head_pool_concat' }).apply(parts) as tf.SymbolicTensor;
}

/** Backbone → pooling → trained head → softmax, as one TF.js model (what a bundle exports). */
export function buildTrainedClassifier(
  backbone: tf.LayersModel,
  head: Head,
  source: FeatureSource,
  logitOffset?: Float32Array,
): tf.LayersModel {
  const pooled = applyPoolingLayers(backbone, source);
  return tf.model({
    inputs: backbone.inputs,
    outputs: head.applyLayers(pooled, logitOffset),
    name: 'classifier',
  });
}

/** Backbone → pooling, as one TF.js model (what the feature extractor exports to ONNX). */
export function buildFeatureExtractor(backbone: tf.LayersModel, source: FeatureSource): tf.LayersModel {
  return tf.model({
    inputs: backbone.inputs,
    outputs: applyPoolingLayers(backbone, source),
    name: 'features',
  });
}

/** The head's last layer: softmax over the logits, named `head_softmax`. */
function softmaxLayer(logits: tf.SymbolicTensor): tf.SymbolicTensor {
  return tf.layers
    .activation({ activation: 'softmax', name: HEAD_LAYERS.softmax })
    .apply(logits) as tf.SymbolicTensor;
}

/** Options of the layers-only head of {@link buildClassifier} and {@link buildHead}. */
export interface HeadOptions {
  readonly numClasses: number;
  /** Dropout rate before the dense layer; default 0.5. */
  readonly dropout?: number;
}

function checkHeadOptions(options: HeadOptions): number {
  const dropout = options.dropout ?? 0.5;
  if (!Number.isInteger(options.numClasses) || options.numClasses < 2) {
    throw expected({
      what: 'an integer >= 2',
      where: 'the head numClasses',
      received: shown(options.numClasses),
      fix: 'pass one class per label, at least two',
      code: 'E_CONFIG',
    });
  }
  if (!(dropout >= 0 && dropout < 1)) {
    throw expected({
      what: 'a rate in [0, 1)',
      where: 'the head dropout',
      received: shown(dropout),
      fix: 'e.g. dropout 0.5',
      code: 'E_CONFIG',
    });
  }
  return dropout;
}

/** Dropout → Dense (linear, `head_logits`, TF.js's own initialisers) → softmax. */
function dropoutLogitsSoftmax(x: tf.SymbolicTensor, numClasses: number, dropout: number): tf.SymbolicTensor {
  const dropped = tf.layers
    .dropout({ rate: dropout, name: HEAD_LAYERS.dropout })
    .apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: numClasses, name: HEAD_LAYERS.logits }).apply(dropped);
  return softmaxLayer(logits as tf.SymbolicTensor);
}

/**
 * Frozen backbone → global average pooling → dropout → Dense (linear, `head_logits`) → softmax, as a plain
 * TF.js graph to train with `fit` (the pipeline trains a {@link Head} instead). The classifier shares (and
 * takes ownership of) the backbone's layers: dispose the classifier, not both.
 */
export function buildClassifier(backbone: tf.LayersModel, options: HeadOptions): tf.LayersModel {
  const dropout = checkHeadOptions(options);
  for (const layer of backbone.layers) layer.trainable = false;
  keepFrozenBatchNormInInference(backbone);
  const features = at(backbone.outputs, 0);
  if (features.shape.length !== 4) {
    throw expected({
      what: 'a feature map [N, h, w, C]',
      where: `the output of the backbone "${backbone.name}" (buildClassifier)`,
      received: JSON.stringify(features.shape),
      fix: 'pass a backbone without its pooling and top layers',
      code: 'E_CONFIG',
    });
  }
  const pooled = applyPoolingLayers(backbone, { pooling: 'avg', taps: [] });
  const probs = dropoutLogitsSoftmax(pooled, options.numClasses, dropout);
  return tf.model({ inputs: backbone.inputs, outputs: probs, name: `${backbone.name}_classifier` });
}

/**
 * {@link buildClassifier}'s head alone, on pooled features [N, featureWidth] (for `fit` on cached features).
 * Its `head_logits` weights have the same shapes as the classifier's; see {@link copyHeadWeights}.
 */
export function buildHead(featureWidth: number, numClasses: number, dropout = 0.5): tf.LayersModel {
  checkHeadOptions({ numClasses, dropout });
  const input = tf.input({ shape: [featureWidth], name: 'head_input' });
  return tf.model({ inputs: input, outputs: dropoutLogitsSoftmax(input, numClasses, dropout), name: 'head' });
}

/** Copies the trained head's weights into a classifier's head (same shapes, checked). */
export function copyHeadWeights(from: tf.LayersModel, to: tf.LayersModel): void {
  const src = from.getLayer(HEAD_LAYERS.logits);
  const dst = to.getLayer(HEAD_LAYERS.logits);
  const [a, b] = [src.weights.map((w) => w.shape), dst.weights.map((w) => w.shape)];
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw expected({
      what: `the head weight shapes of the target ${JSON.stringify(b)}`,
      where: 'the trained head (copyHeadWeights)',
      received: JSON.stringify(a),
      fix: 'same featureWidth and numClasses needed',
      code: 'E_WEIGHTS',
    });
  }
  dst.setWeights(src.getWeights());
}
