import type * as tf from '@tensorflow/tfjs';
import { expected, type LesionlabError } from '../errors.js';
import type { GraphBuilder, Value } from './graph.js';

/** What a layer converter receives: the graph, the layer, its config and its converted inputs. */
export interface LayerContext {
  readonly g: GraphBuilder;
  readonly layer: tf.layers.Layer;
  readonly config: tf.serialization.ConfigDict;
  readonly inputs: readonly Value[];
  /** The first of `inputs`: the only one, except for merge layers (Add, Concatenate, ...). */
  readonly input: Value;
  /** Keras shape of the layer's (single) output for this call. */
  readonly outputShape: readonly (number | null)[];
}

/** Emits the ONNX nodes of one layer call and returns its output value. */
export type LayerConverter = (ctx: LayerContext) => Value;

/** An E_ONNX error about layer `ctx.layer` that says what was found and what is supported. */
export function unsupported(ctx: LayerContext, what: string, supported: string): LesionlabError {
  return expected({
    what: `a layer config the exporter supports (${supported})`,
    where: `the layer "${ctx.layer.name}" of type ${ctx.layer.getClassName()}`,
    received: what,
    fix: 'change the layer or export another model',
    code: 'E_ONNX',
  });
}

/** A numeric config field (default when absent). */
export function num(ctx: LayerContext, key: string, fallback: number): number {
  const v = ctx.config[key];
  return typeof v === 'number' ? v : fallback;
}

/** A config field that is a number or a pair (kernel size, strides) as a pair. */
export function pair(ctx: LayerContext, key: string, fallback: number): [number, number] {
  const v = ctx.config[key];
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [Number(v[0]), Number(v[1])];
  return [fallback, fallback];
}

/** Checks `dataFormat` is channels-last (the only layout the exporter reads). */
export function requireChannelsLast(ctx: LayerContext): void {
  const f = ctx.config['dataFormat'];
  if (f != null && f !== 'channelsLast') throw unsupported(ctx, `dataFormat ${String(f)}`, 'channelsLast');
}

/** The single Keras axis of a config field that may be a number or a one-element array. */
export function singleAxis(ctx: LayerContext, key: string, rank: number): number {
  const v = ctx.config[key];
  const a = Array.isArray(v) && v.length === 1 ? Number(v[0]) : typeof v === 'number' ? v : -1;
  return a < 0 ? a + rank : a;
}

/** Output value in `layout` with the layer's output shape. */
export function out(ctx: LayerContext, name: string, layout: Value['layout']): Value {
  return { name, shape: ctx.outputShape, layout: ctx.outputShape.length === 4 ? layout : 'keras' };
}
