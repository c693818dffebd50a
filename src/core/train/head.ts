import * as tf from '@tensorflow/tfjs';
import { LesionlabError } from '../errors.js';
import { HEAD_LAYERS } from '../models/head.js';
import type { WeightSnapshot } from './callbacks.js';
import type { Prng } from './prng.js';

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

  private constructor(
    readonly spec: HeadSpec,
    variables: NamedVariable[],
  ) {
    this.variables = variables;
  }

  /** A head with Glorot-uniform kernels drawn from `rng` and zero biases. */
  static create(spec: HeadSpec, rng: Prng): Head {
    const widths =
      spec.hidden > 0 ? [spec.inputWidth, spec.hidden, spec.numClasses] : [spec.inputWidth, spec.numClasses];
    const variables: NamedVariable[] = [];
    for (let i = 0; i + 1 < widths.length; i++) {
      const [fanIn, fanOut] = [widths[i], widths[i + 1]];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const values = rng.uniform(fanIn * fanOut, -limit, limit);
      const kernel = tf.tidy(() => tf.variable(tf.tensor2d(values, [fanIn, fanOut]), true));
      variables.push({ name: `dense_${i}/kernel`, variable: kernel });
      variables.push({
        name: `dense_${i}/bias`,
        variable: tf.tidy(() => tf.variable(tf.zeros([fanOut]), true)),
      });
    }
    return new Head(spec, variables);
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
      const layers = this.variables.length / 2;
      let x: tf.Tensor2D = features;
      for (let i = 0; i < layers; i++) {
        if (masks[i]) x = x.mul(masks[i]);
        x = tf
          .matMul(x, this.variables[2 * i].variable as tf.Tensor2D)
          .add(this.variables[2 * i + 1].variable);
        if (i + 1 < layers) x = tf.relu(x);
      }
      return x;
    });
  }

  /**
   * Appends the head as TF.js layers to a pooled-feature tensor, ending in softmax. `logitOffset` is added to
   * the last bias (post-hoc logit adjustment folded into the model).
   */
  applyLayers(input: tf.SymbolicTensor, logitOffset?: Float32Array): tf.SymbolicTensor {
    const layers = this.variables.length / 2;
    let x = input;
    for (let i = 0; i < layers; i++) {
      const last = i + 1 === layers;
      const units = this.variables[2 * i + 1].variable.shape[0];
      const name = last ? HEAD_LAYERS.logits : `head_hidden_${i}`;
      const dense = tf.layers.dense({ units, activation: last ? 'linear' : 'relu', name });
      x = dense.apply(x) as tf.SymbolicTensor;
      tf.tidy(() => {
        const kernel = this.variables[2 * i].variable;
        let bias: tf.Tensor = this.variables[2 * i + 1].variable;
        if (last && logitOffset) bias = bias.add(tf.tensor1d(logitOffset));
        dense.setWeights([kernel, bias]);
      });
    }
    return tf.layers
      .activation({ activation: 'softmax', name: HEAD_LAYERS.softmax })
      .apply(x) as tf.SymbolicTensor;
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
      const [kernel, bias] = [this.variables[0].variable, this.variables[1].variable];
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
  }
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
      throw new LesionlabError(
        'E_CONFIG',
        `model.taps: "${name}" is not a feature-map layer of backbone "${backbone.name}"; use layer names such as ${sample}`,
      );
    }
    return output as tf.SymbolicTensor;
  });
  return [...maps, backbone.outputs[0]];
}

/**
 * Pools feature maps [n, h, w, c] into one [n, width] matrix: taps by global average, the last map (the
 * backbone's output) by `pooling` (avg → c, avg+max → 2c), concatenated in order.
 */
export function poolFeatures(maps: tf.Tensor4D | readonly tf.Tensor4D[], pooling: Pooling): tf.Tensor2D {
  return tf.tidy(() => {
    const all = Array.isArray(maps) ? maps : [maps as tf.Tensor4D];
    const last = all[all.length - 1];
    const parts = all.slice(0, -1).map((m) => tf.mean(m, [1, 2]) as tf.Tensor2D);
    parts.push(tf.mean(last, [1, 2]) as tf.Tensor2D);
    if (pooling === 'avg+max') parts.push(tf.max(last, [1, 2]) as tf.Tensor2D);
    return parts.length === 1 ? parts[0] : tf.concat(parts, 1);
  });
}

/** The same pooling as TF.js layers, applied to `backbone`'s feature maps (for exported models). */
function applyPoolingLayers(backbone: tf.LayersModel, source: FeatureSource): tf.SymbolicTensor {
  const maps = featureMaps(backbone, source.taps);
  const last = maps[maps.length - 1];
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
  if (parts.length === 1) return parts[0];
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
