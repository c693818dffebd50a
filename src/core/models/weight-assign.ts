import * as tf from '@tensorflow/tfjs';
import { expected } from '../errors.js';
import type { Logger } from '../logger.js';
import { isSkippedSourceLayer, shapeFits, sourceAlias } from './weight-mapping.js';

/** One weight read from a file: its layer, its short name (`kernel`, `gamma`, ...), shape and values. */
export interface SourceWeight {
  readonly layer: string;
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** How source weights are paired with the model's weights. */
export type MatchMode = 'name' | 'order' | 'auto';

/** Options of {@link assignWeights}. */
export interface AssignOptions {
  /** File or folder the weights came from, for error messages. */
  readonly source: string;
  /** `auto` (default): by name when every source weight's name exists in the model, else by order. */
  readonly match?: MatchMode;
  /** Allow source weights that match nothing (e.g. layers cut off a truncated model). */
  readonly allowUnused?: boolean;
  readonly logger?: Logger;
}

/** What {@link assignWeights} did. */
export interface AssignReport {
  readonly mode: 'name' | 'order';
  readonly assigned: number;
  /** Source weights (`layer/name`) that matched nothing (only with `allowUnused`). */
  readonly unused: readonly string[];
}

interface Target {
  readonly layer: string;
  readonly className: string;
  readonly name: string;
  readonly variable: tf.LayerVariable;
  readonly shape: number[];
}

function targetsOf(model: tf.LayersModel): Target[] {
  return model.layers.flatMap((layer) =>
    layer.weights.map((variable) => {
      const full = variable.originalName;
      const name = full.startsWith(`${layer.name}/`) ? full.slice(layer.name.length + 1) : full;
      return {
        layer: layer.name,
        className: layer.getClassName(),
        name,
        variable,
        shape: variable.shape as number[],
      };
    }),
  );
}

/** Strips Keras's `:0` suffix and any scope so `conv1/kernel:0` -> `kernel`. */
export function shortWeightName(name: string): string {
  const noSuffix = name.replace(/:\d+$/, '');
  return noSuffix.slice(noSuffix.lastIndexOf('/') + 1);
}

const key = (layer: string, name: string) => `${layer}/${name}`;
const shapeText = (s: readonly number[]) => `[${s.join(',')}]`;

/** The names a target weight may be saved under: its own, and an alias of its layer class. */
function namesOf(t: Target): string[] {
  const alias = sourceAlias(t.className, t.name);
  return alias === undefined ? [t.name] : [t.name, alias];
}

function pairByName(targets: Target[], sources: SourceWeight[]): Map<Target, SourceWeight> {
  const byKey = new Map(sources.map((s) => [key(s.layer, s.name), s]));
  const pairs = new Map<Target, SourceWeight>();
  for (const t of targets) {
    const s = namesOf(t)
      .map((n) => byKey.get(key(t.layer, n)))
      .find((found) => found !== undefined);
    if (s !== undefined) pairs.set(t, s);
  }
  return pairs;
}

/**
 * Pairs by position (Keras's own rule for .h5 files whose layer names differ, e.g. auto-numbered), but
 * only where each pair's weight names agree, so gamma/beta or mean/variance can never trade places.
 */
function pairByOrder(targets: Target[], sources: SourceWeight[], source: string): Map<Target, SourceWeight> {
  if (targets.length !== sources.length) {
    throw expected({
      what: `the model's ${targets.length} weights`,
      where: source,
      received: `${sources.length} weights in the file`,
      fix: 'is this file for this backbone (and without top)?',
      code: 'E_WEIGHTS',
    });
  }
  const pairs = new Map(targets.map((t, i) => [t, sources[i]!]));
  for (const [t, s] of pairs) {
    if (!namesOf(t).includes(s.name)) {
      throw expected({
        what: `the model's weight order (by position, ${t.layer}/${t.name} of ${t.className})`,
        where: source,
        received: `the weight ${key(s.layer, s.name)} there`,
        fix: 'wrong backbone or file?',
        code: 'E_WEIGHTS',
      });
    }
  }
  return pairs;
}

function checkPair(t: Target, s: SourceWeight, source: string): void {
  if (!shapeFits(t.className, s.shape, t.shape)) {
    throw expected({
      what: `the shape ${shapeText(t.shape)} of ${t.name} in layer ${t.layer} (${t.className})`,
      where: `the weight ${key(s.layer, s.name)} of ${source}`,
      received: shapeText(s.shape),
      fix: 'wrong backbone or file?',
      code: 'E_WEIGHTS',
    });
  }
}

/**
 * Writes `sources` into `model`'s weights, pairing them by name or by order (Keras's own rule for
 * .h5 files) and checking every shape; any missing or mismatched weight is an E_WEIGHTS error that
 * names the layer, the expected and the found shape.
 */
export function assignWeights(
  model: tf.LayersModel,
  all: readonly SourceWeight[],
  options: AssignOptions,
): AssignReport {
  const sources = all.filter((s) => !isSkippedSourceLayer(s.layer));
  const targets = targetsOf(model);
  const mode = options.match ?? 'auto';
  const byName = pairByName(targets, sources);
  const nameCoversAll = byName.size === targets.length;
  const useName = mode === 'name' || (mode === 'auto' && nameCoversAll);
  const pairs = useName ? byName : pairByOrder(targets, sources, options.source);
  const missing = targets.filter((t) => !pairs.has(t));
  if (missing.length > 0) {
    const list = missing.slice(0, 3).map((t) => key(t.layer, t.name));
    throw expected({
      what: 'a weight for every model weight',
      where: options.source,
      received: `none for ${missing.length} model weights (${list.join(', ')}${missing.length > 3 ? ', ...' : ''})`,
      fix: 'file and model do not match; load the file made for this backbone',
      code: 'E_WEIGHTS',
    });
  }
  const used = new Set(pairs.values());
  const unused = sources.filter((s) => !used.has(s)).map((s) => key(s.layer, s.name));
  if (unused.length > 0 && options.allowUnused !== true) {
    throw expected({
      what: 'weights that each match a layer of the model',
      where: options.source,
      received: `${unused.length} weights that match none (${unused.slice(0, 3).join(', ')})`,
      fix: 'wrong file, or load into a truncated model with allowUnused',
      code: 'E_WEIGHTS',
    });
  }
  for (const [t, s] of pairs) checkPair(t, s, options.source);
  for (const [t, s] of pairs) {
    tf.tidy(() => {
      t.variable.write(tf.tensor(s.data, t.shape, 'float32'));
    });
  }
  const modeUsed = useName ? 'name' : 'order';
  options.logger?.debug?.(`${options.source}: ${pairs.size} weights loaded by ${modeUsed}`);
  return { mode: modeUsed, assigned: pairs.size, unused };
}
