import * as tf from '@tensorflow/tfjs';
import { LesionlabError } from '../errors.js';
import type { BackboneSpec } from './registry.js';

/** Names of the head layers, shared by {@link buildClassifier} and {@link buildHead}. */
export const HEAD_LAYERS = {
  pool: 'head_pool',
  dropout: 'head_dropout',
  logits: 'head_logits',
  softmax: 'head_softmax',
} as const;

/** Options of the classification head. */
export interface HeadOptions {
  readonly numClasses: number;
  /** Dropout rate before the dense layer; default 0.5. */
  readonly dropout?: number;
}

function checkHead(options: HeadOptions): number {
  const dropout = options.dropout ?? 0.5;
  if (!Number.isInteger(options.numClasses) || options.numClasses < 2) {
    throw new LesionlabError(
      'E_CONFIG',
      `head: numClasses must be an integer >= 2, got ${options.numClasses}`,
    );
  }
  if (!(dropout >= 0 && dropout < 1)) {
    throw new LesionlabError('E_CONFIG', `head: dropout must be in [0, 1), got ${dropout}`);
  }
  return dropout;
}

function dropoutLogitsSoftmax(x: tf.SymbolicTensor, numClasses: number, dropout: number): tf.SymbolicTensor {
  const dropped = tf.layers
    .dropout({ rate: dropout, name: HEAD_LAYERS.dropout })
    .apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: numClasses, name: HEAD_LAYERS.logits }).apply(dropped);
  return tf.layers
    .activation({ activation: 'softmax', name: HEAD_LAYERS.softmax })
    .apply(logits) as tf.SymbolicTensor;
}

/**
 * Frozen backbone -> global average pooling -> dropout -> Dense (linear, `head_logits`) -> softmax.
 * The classifier is one flat graph that shares (and takes ownership of) the backbone's layers:
 * dispose the classifier, not both. Logits stay reachable as layer `head_logits`.
 */
export function buildClassifier(backbone: tf.LayersModel, options: HeadOptions): tf.LayersModel {
  const dropout = checkHead(options);
  for (const layer of backbone.layers) layer.trainable = false;
  keepFrozenBatchNormInInference(backbone);
  const features = backbone.outputs[0]!;
  if (features.shape.length !== 4) {
    throw new LesionlabError(
      'E_CONFIG',
      `buildClassifier: backbone output must be [N, h, w, C], got ${JSON.stringify(features.shape)}`,
    );
  }
  const pooled = tf.layers
    .globalAveragePooling2d({ name: HEAD_LAYERS.pool })
    .apply(features) as tf.SymbolicTensor;
  const probs = dropoutLogitsSoftmax(pooled, options.numClasses, dropout);
  return tf.model({ inputs: backbone.inputs, outputs: probs, name: `${backbone.name}_classifier` });
}

/**
 * The head alone, on pooled features [N, featureWidth] (for training on cached features). Its
 * `head_logits` weights have the same shapes as the classifier's; see {@link copyHeadWeights}.
 */
export function buildHead(featureWidth: number, numClasses: number, dropout = 0.5): tf.LayersModel {
  checkHead({ numClasses, dropout });
  const input = tf.input({ shape: [featureWidth], name: 'head_input' });
  return tf.model({ inputs: input, outputs: dropoutLogitsSoftmax(input, numClasses, dropout), name: 'head' });
}

/** Copies the trained head's weights into a classifier's head (same shapes, checked). */
export function copyHeadWeights(from: tf.LayersModel, to: tf.LayersModel): void {
  const src = from.getLayer(HEAD_LAYERS.logits);
  const dst = to.getLayer(HEAD_LAYERS.logits);
  const [a, b] = [src.weights.map((w) => w.shape), dst.weights.map((w) => w.shape)];
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw new LesionlabError(
      'E_WEIGHTS',
      `copyHeadWeights: head shapes differ (${JSON.stringify(a)} vs ${JSON.stringify(b)}); same featureWidth and numClasses needed`,
    );
  }
  dst.setWeights(src.getWeights());
}

function isBatchNorm(layer: tf.layers.Layer): boolean {
  return layer.getClassName() === 'BatchNormalization';
}

const PATCHED = new WeakSet<tf.layers.Layer>();

/**
 * Makes every BatchNormalization layer of `model` with `trainable = false` run in inference mode
 * (moving statistics, no updates) even inside `fit`, as Keras does; TF.js otherwise normalises with
 * batch statistics and updates the moving averages of frozen layers. Idempotent; not serialised, so
 * call it again after loading a saved model that will be trained.
 */
export function keepFrozenBatchNormInInference(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (!isBatchNorm(layer) || PATCHED.has(layer)) continue;
    const original = layer.call.bind(layer);
    type Kwargs = Parameters<typeof original>[1];
    layer.call = (inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) =>
      original(inputs, layer.trainable ? kwargs : { ...kwargs, training: false });
    PATCHED.add(layer);
  }
}

/**
 * Partial unfreezing: the top `nBlocks` blocks of the backbone (by `spec.blocks`) and the head become
 * trainable, everything below stays frozen, and BatchNorm layers stay frozen everywhere (Keras's
 * fine-tuning advice). Compile the model again afterwards: TF.js collects trainable weights at compile.
 * Returns the number of trainable layers with weights.
 */
export function setTrainableTop(model: tf.LayersModel, spec: BackboneSpec, nBlocks: number): number {
  if (!Number.isInteger(nBlocks) || nBlocks < 0 || nBlocks > spec.blocks.length) {
    throw new LesionlabError(
      'E_CONFIG',
      `setTrainableTop: ${spec.name} has ${spec.blocks.length} blocks; nBlocks must be an integer in 0..${spec.blocks.length}, got ${nBlocks}`,
    );
  }
  const layers = model.layers;
  let boundary = 0;
  if (nBlocks < spec.blocks.length) {
    const last = spec.blocks[spec.blocks.length - nBlocks - 1]!.lastLayer;
    boundary = layers.findIndex((l) => l.name === last);
    if (boundary < 0) {
      throw new LesionlabError(
        'E_CONFIG',
        `setTrainableTop: model has no layer "${last}"; was it built from ${spec.name}?`,
      );
    }
  }
  let count = 0;
  layers.forEach((layer, i) => {
    const isHead = layer.name.startsWith('head_');
    layer.trainable = isHead || (nBlocks > 0 && i > boundary && !isBatchNorm(layer));
    if (layer.trainable && layer.weights.length > 0) count++;
  });
  keepFrozenBatchNormInInference(model);
  return count;
}
